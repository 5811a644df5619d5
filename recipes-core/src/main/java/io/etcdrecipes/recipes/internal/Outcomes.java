package io.etcdrecipes.recipes.internal;

import io.etcdrecipes.client.ClosedClientException;
import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdException;

/**
 * Whether a failed write may have been applied. etcd rejects a request it will not apply with a definite error
 * (bad argument, permission, size, a missing lease...); anything else that ends a call after it was handed to the
 * client (a deadline, an unavailable or closing connection, a leader change, an internal error) leaves its outcome
 * unknown. Recipes use it to decide between "nothing was written" and "clean up what may have been written".
 */
public final class Outcomes {

  private Outcomes() {}

  /** True unless {@code failure} is an etcd error that proves the request was not applied. */
  public static boolean mayHaveApplied(Throwable failure) {
    Throwable t = Blocking.unwrap(failure);
    if (!(t instanceof EtcdException e)) {
      return true;
    }
    return switch (e.code()) {
      case INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION,
          OUT_OF_RANGE, UNIMPLEMENTED, UNAUTHENTICATED -> false;
      default -> true; // CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, ABORTED, INTERNAL, UNAVAILABLE, DATA_LOSS
    };
  }

  /**
   * True for a failure that says nothing about etcd's state and may well not happen again: the member was unreachable
   * or leaderless, or the call's deadline passed (an election, a killed member). A recipe whose next step re-reads
   * what it needs may simply run that step again; anything else (a definite refusal, a closed client) is final.
   */
  public static boolean isTransient(Throwable failure) {
    Throwable t = Blocking.unwrap(failure);
    if (!(t instanceof EtcdException e) || t instanceof ClosedClientException) {
      return false;
    }
    // etcd answers a request whose deadline (propagated with the call) ran out on the server with its own
    // "context deadline exceeded" as UNKNOWN: the same deadline, seen from the other side
    return e.code() == ErrorCode.UNAVAILABLE || e.code() == ErrorCode.DEADLINE_EXCEEDED
        || (e.code() == ErrorCode.UNKNOWN && e.getMessage() != null
            && e.getMessage().contains("context deadline exceeded"));
  }
}
