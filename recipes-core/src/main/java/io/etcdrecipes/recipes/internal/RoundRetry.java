package io.etcdrecipes.recipes.internal;

import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionState;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs one step of a waiting recipe call again after a {@linkplain Outcomes#isTransient transient} failure (an
 * election, a killed member: the client already moved what it could to another member, but a deadline can pass or a
 * write's answer can be lost). Only steps that re-read what they decide on may be repeated. Backoff 50 ms doubling to
 * 1 s; it stops once the call is done (its own timeout bounds the retries) or the session is lost (the call then
 * fails with the session's cause). One object per call.
 */
public final class RoundRetry {

  private static final long FIRST_MILLIS = 50;
  private static final long MAX_MILLIS = 1_000;

  private final Session session;
  private final CompletableFuture<?> call;
  private long nextMillis = FIRST_MILLIS;

  public RoundRetry(Session session, CompletableFuture<?> call) {
    this.session = session;
    this.call = call;
  }

  /**
   * After {@code step} failed with {@code failure}: schedules it again and returns true, or fails the call (with the
   * failure, or the session's loss) and returns false.
   */
  public boolean again(Throwable failure, Runnable step) {
    Throwable t = Blocking.unwrap(failure);
    if (call.isDone()) {
      return false;
    }
    if (!Outcomes.isTransient(t) && session.state() != SessionState.LOST) {
      call.completeExceptionally(t);
      return false;
    }
    return later(step, t);
  }

  /**
   * Schedules {@code step} after the next backoff (a step that must look again, e.g. after a compare that failed
   * because something changed under it); false, and the call failed with {@code failure}, when it cannot go on.
   */
  public boolean later(Runnable step, Throwable failure) {
    if (call.isDone()) {
      return false;
    }
    if (session.state() == SessionState.LOST) {
      call.completeExceptionally(session.lostCause() != null ? session.lostCause() : failure);
      return false;
    }
    long delay;
    synchronized (this) {
      delay = nextMillis;
      nextMillis = Math.min(MAX_MILLIS, nextMillis * 2);
    }
    try {
      SharedExecutors.timer().schedule(() -> {
        if (!call.isDone()) {
          step.run();
        }
      }, delay, TimeUnit.MILLISECONDS);
      return true;
    } catch (RuntimeException e) { // the timer refused (shutting down): fail rather than hang
      call.completeExceptionally(failure);
      return false;
    }
  }
}
