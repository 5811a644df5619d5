package io.etcdrecipes.lock;

import io.etcdrecipes.client.CancelledException;
import io.etcdrecipes.client.DeadlineExceededException;
import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.recipes.Attempt;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.internal.Blocking;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/** The async and try forms every lock of this package shares. */
final class Locks {

  private Locks() {}

  /**
   * The attempt's result as a future of its own. Any completion of it other than the attempt's own outcome — a
   * cancel, {@code orTimeout}, {@code completeOnTimeout}, {@code completeExceptionally} — gives the attempt up (its
   * key deleted, its local turn passed on; an ownership won meanwhile is released).
   */
  static CompletableFuture<Ownership> async(Attempt a) {
    return Blocking.giveUpUnlessOwnOutcome(a.result(), a::abandon, Ownership::releaseAsync);
  }

  /** A {@link Attempt.Mode#TRY} attempt's outcome: bounded by twice the call timeout (two round trips at most). */
  static Optional<Ownership> tryNow(Attempt a, Session session, String name) {
    try {
      return Optional.ofNullable(a.await(session.client().config().callTimeout().multipliedBy(2)));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CancelledException(ErrorCode.CANCELLED, "interrupted in tryLock of " + name, null, e);
    } catch (TimeoutException e) {
      throw new DeadlineExceededException(ErrorCode.DEADLINE_EXCEEDED, "tryLock of " + name + " got no answer in time",
          null, e);
    }
  }
}
