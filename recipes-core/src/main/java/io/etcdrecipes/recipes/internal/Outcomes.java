package io.etcdrecipes.recipes.internal;

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
}
