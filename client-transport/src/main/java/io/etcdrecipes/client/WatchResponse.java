package io.etcdrecipes.client;

import java.util.List;

/**
 * A batch of events of one watch, in revision order; or, with no events, a progress notification. One
 * asked for with {@link WatchOption.Builder#progressNotify()} says that everything up to
 * {@code header().revision()} has been delivered. One answering {@link Watch#requestProgress()} says so only
 * on etcd 3.4.24+ / 3.5.8+; older servers answer at once with the store revision, possibly ahead of events
 * a watch replaying history has yet to receive (etcd#15220). Either way the watch resumes correctly.
 * With {@link WatchOption.Builder#createdNotify()}, the first response says that the watch was created
 * ({@link #isCreatedNotify()}); its header revision is the store's revision at creation.
 */
public record WatchResponse(ResponseHeader header, List<WatchEvent> events, boolean isCreatedNotify) {

  public WatchResponse(ResponseHeader header, List<WatchEvent> events) {
    this(header, events, false);
  }

  public boolean isProgressNotify() {
    return events.isEmpty() && !isCreatedNotify;
  }
}
