package io.etcdrecipes.client;

import java.util.List;

/**
 * A batch of events of one watch, in revision order; or, with no events, a progress notification. One
 * asked for with {@link WatchOption.Builder#progressNotify()} says that everything up to
 * {@code header().revision()} has been delivered. One answering {@link Watch#requestProgress()} says so only
 * on etcd 3.4.24+ / 3.5.8+; older servers answer at once with the store revision, possibly ahead of events
 * a watch replaying history has yet to receive (etcd#15220). Either way the watch resumes correctly.
 */
public record WatchResponse(ResponseHeader header, List<WatchEvent> events) {

  public boolean isProgressNotify() {
    return events.isEmpty();
  }
}
