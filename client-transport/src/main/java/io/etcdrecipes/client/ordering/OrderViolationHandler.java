package io.etcdrecipes.client.ordering;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.OpResponse;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Decides what an {@link OrderingKV} does when a response is older than one it has already seen: return
 * normally to send the request again (to whichever member the client picks next), or throw to fail the
 * call with that exception.
 */
@FunctionalInterface
public interface OrderViolationHandler {

  void onViolation(OpResponse staleResponse, long previousRevision) throws EtcdException;

  /**
   * Go's standard handler: try again, letting the client's round robin move the request to other members,
   * and give up with {@link OrderViolationException} after five rounds over every endpoint without a
   * member that is as far as the revision already seen.
   */
  static OrderViolationHandler switchEndpoint(EtcdClient client) {
    AtomicInteger violations = new AtomicInteger();
    return (stale, previous) -> {
      int limit = 5 * client.endpoints().size();
      if (violations.incrementAndGet() > limit) {
        violations.set(0);
        throw new OrderViolationException("no cluster member has a revision at or above " + previous
            + " (the stale member answered with revision " + stale.header().revision() + ", member "
            + Long.toHexString(stale.header().memberId()) + "); tried " + limit + " times", previous,
            stale.header().revision());
      }
    };
  }
}
