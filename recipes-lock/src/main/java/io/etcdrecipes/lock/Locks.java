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

  /** The attempt's result as a future of its own: cancelling it gives the attempt up. */
  static CompletableFuture<Ownership> async(Attempt a) {
    CompletableFuture<Ownership> f = new CompletableFuture<>();
    a.result().whenComplete((o, e) -> {
      if (e != null) {
        f.completeExceptionally(Blocking.unwrap(e));
      } else if (!f.complete(o)) {
        o.releaseAsync();
      }
    });
    f.whenComplete((o, e) -> {
      if (f.isCancelled()) {
        a.abandon();
      }
    });
    return f;
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
