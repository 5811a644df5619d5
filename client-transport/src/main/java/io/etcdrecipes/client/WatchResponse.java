package io.etcdrecipes.client;

import java.util.List;

/**
 * A batch of events of one watch, in revision order; or, with no events, a progress notification saying
 * that everything up to {@code header().revision()} has been delivered.
 */
public record WatchResponse(ResponseHeader header, List<WatchEvent> events) {

  public boolean isProgressNotify() {
    return events.isEmpty();
  }
}
