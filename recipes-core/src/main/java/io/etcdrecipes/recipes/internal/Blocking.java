package io.etcdrecipes.recipes.internal;

import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdException;

import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The one blocking convention of recipes-core: a wait with a timeout throws {@link TimeoutException}, a wait
 * without one is interruptible, and a failed future throws its cause as it is (unchecked causes) or wrapped
 * in an {@link EtcdException} (checked ones).
 */
public final class Blocking {

  private Blocking() {}

  /**
   * Checks a timeout argument: not null and positive, else {@link IllegalArgumentException} naming it (before
   * anything is sent or written).
   */
  public static Duration checkTimeout(Duration timeout, String name) {
    if (timeout == null) {
      throw new IllegalArgumentException(name + " must not be null");
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException(name + " must be > 0, got " + timeout);
    }
    return timeout;
  }

  /** {@code d} in nanoseconds, saturated instead of overflowing (a timeout of centuries is "forever", not an error). */
  public static long nanos(Duration d) {
    return TimeUnit.NANOSECONDS.convert(d);
  }

  public static <T> T await(CompletableFuture<T> future, Duration timeout)
      throws InterruptedException, TimeoutException {
    try {
      return future.get(Math.max(0, nanos(timeout)), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw unchecked(e.getCause());
    }
  }

  public static <T> T await(CompletableFuture<T> future) throws InterruptedException {
    try {
      return future.get();
    } catch (ExecutionException e) {
      throw unchecked(e.getCause());
    }
  }

  /** The cause of a failed future as an unchecked exception. */
  public static RuntimeException unchecked(Throwable t) {
    Throwable c = unwrap(t);
    if (c instanceof RuntimeException r) {
      return r;
    }
    if (c instanceof Error err) {
      throw err;
    }
    return new EtcdException(ErrorCode.UNKNOWN, String.valueOf(c), c);
  }

  /** Strips {@link CompletionException} and {@link ExecutionException} wrappers. */
  public static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  public static boolean isCancellation(Throwable t) {
    return unwrap(t) instanceof CancellationException;
  }

  /**
   * A future of its own for {@code source} (an attempt's outcome) to hand to a caller. When the caller completes it
   * first — {@code cancel}, {@code orTimeout}, {@code completeOnTimeout}, {@code completeExceptionally} — the attempt
   * is given up ({@code giveUp}); a value {@code source} produces after that is let go with {@code release}.
   */
  public static <T> CompletableFuture<T> giveUpUnlessOwnOutcome(CompletableFuture<T> source, Runnable giveUp,
                                                                java.util.function.Function<T, ?> release) {
    CompletableFuture<T> f = new CompletableFuture<>();
    java.util.concurrent.atomic.AtomicBoolean ours = new java.util.concurrent.atomic.AtomicBoolean();
    source.whenComplete((v, e) -> {
      ours.set(true); // before completing: whenComplete below then knows the outcome was (or raced with) ours
      boolean delivered = e != null ? f.completeExceptionally(unwrap(e)) : f.complete(v);
      if (!delivered && e == null && v != null) {
        release.apply(v); // the caller completed it first: nobody will use this
      }
    });
    f.whenComplete((v, e) -> {
      if (!ours.get()) {
        giveUp.run();
      }
    });
    return f;
  }
}
