package io.etcdrecipes.queue;

import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.internal.Blocking;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/** The forms of a dequeue over a {@link Taker}: blocking (bounded or not) and a future of the caller's own. */
final class Takes {

  private Takes() {}

  /** A dequeue waiting at most {@code timeout}. */
  static <T> T dequeue(QueueLayout layout, Session session, ClaimRule<T> rule, Duration timeout)
      throws InterruptedException, TimeoutException {
    Blocking.checkTimeout(timeout, "timeout");
    return await(Taker.start(layout, session, rule, true), timeout, session.client().config().callTimeout());
  }

  /** A dequeue waiting until an item comes or the thread is interrupted. */
  static <T> T dequeue(QueueLayout layout, Session session, ClaimRule<T> rule) throws InterruptedException {
    return await(Taker.start(layout, session, rule, true), session.client().config().callTimeout());
  }

  /** A dequeue as a future; ending it otherwise than with the item gives the take up. */
  static <T> CompletableFuture<T> dequeueAsync(QueueLayout layout, Session session, ClaimRule<T> rule) {
    return asFuture(Taker.start(layout, session, rule, true));
  }

  /** What is free now, without waiting. */
  static <T> Optional<T> poll(QueueLayout layout, Session session, ClaimRule<T> rule) throws InterruptedException {
    return Optional.ofNullable(await(Taker.start(layout, session, rule, false), session.client().config().callTimeout()));
  }

  /** Waits at most {@code timeout}; an item whose take was in flight at the deadline is still handed over. */
  private static <T> T await(Taker<T> taker, Duration timeout, Duration callTimeout)
      throws InterruptedException, TimeoutException {
    try {
      return Blocking.await(taker.result(), timeout);
    } catch (TimeoutException e) {
      T v = awaitGiveUp(taker, true, callTimeout);
      if (v != null) {
        return v;
      }
      throw e;
    } catch (InterruptedException e) {
      awaitGiveUp(taker, false, callTimeout);
      throw e;
    }
  }

  private static <T> T await(Taker<T> taker, Duration callTimeout) throws InterruptedException {
    try {
      return Blocking.await(taker.result());
    } catch (InterruptedException e) {
      awaitGiveUp(taker, false, callTimeout);
      throw e;
    }
  }

  private static <T> T awaitGiveUp(Taker<T> taker, boolean keep, Duration callTimeout) {
    boolean interrupted = Thread.interrupted();
    CompletableFuture<T> l = taker.giveUp(keep);
    T v = null;
    try {
      v = l.get(Blocking.nanos(callTimeout.plusSeconds(1)), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      interrupted = true;
    } catch (Exception e) {
      // not handed over in time
    }
    // not waited for any longer: an item won later is given back (a completion of l fails, see handOverLate)
    if (v == null && !l.cancel(false) && !l.isCompletedExceptionally()) {
      v = l.getNow(null); // it came just now
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    return v;
  }

  /**
   * A future of its own: ending it in any way but with the item (cancel, a timeout, completing it by hand) gives the
   * take up, and an item won meanwhile is given back — once, by {@link Taker#giveUp}.
   */
  private static <T> CompletableFuture<T> asFuture(Taker<T> taker) {
    CompletableFuture<T> f = new CompletableFuture<>();
    AtomicBoolean fromResult = new AtomicBoolean();
    taker.result().whenComplete((v, e) -> {
      fromResult.set(true);
      if (e == null) {
        if (!f.complete(v) && v != null) {
          taker.giveUp(false); // f was ended otherwise meanwhile
        }
      } else if (!(Blocking.unwrap(e) instanceof CancellationException)) {
        f.completeExceptionally(Blocking.unwrap(e));
      }
    });
    f.whenComplete((v, e) -> {
      if (!fromResult.get()) {
        taker.giveUp(false);
      }
    });
    return f;
  }
}
