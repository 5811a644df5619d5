package io.etcdrecipes.testkit;

import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Waiting on a future in a test, always bounded, with the failure as it happened rather than wrapped.
 *
 * <pre>{@code
 * GetResponse r = Futures.get(client.kv().get("k"));                 // Timing.seconds(10) at most
 * assertThat(Futures.failure(client.lease().revoke(404))).isInstanceOf(LeaseNotFoundException.class);
 * }</pre>
 *
 * A future that is not done in time fails the test with an {@link AssertionError} that says how long it waited.
 */
public final class Futures {
    private Futures() {}

    /** {@link #get(Future, Duration)} with {@code Timing.seconds(10)}. */
    public static <T> T get(Future<T> future) {
        return get(future, Timing.seconds(10));
    }

    /**
     * The value of {@code future}, waiting at most {@code timeout}.
     *
     * <p>If it fails, its cause is thrown as it is when unchecked (so {@code assertThatThrownBy(() -> get(f))
     * .isInstanceOf(CompactedException.class)} works); a checked cause, which our futures do not use, comes
     * wrapped in a {@link CompletionException} to keep this method free of checked exceptions. A cancelled future
     * throws its {@link CancellationException}. An interrupt while waiting is kept (the flag is set again) and
     * fails the test.
     *
     * @throws AssertionError when the future is not done within {@code timeout}
     */
    public static <T> T get(Future<T> future, Duration timeout) {
        try {
            return future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof RuntimeException r) throw r;
            if (cause instanceof Error err) throw err;
            throw new CompletionException(cause);
        } catch (TimeoutException e) {
            throw new AssertionError(notDone(timeout), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for a future", e);
        }
    }

    /** {@link #failure(Future, Duration)} with {@code Timing.seconds(10)}. */
    public static Throwable failure(Future<?> future) {
        return failure(future, Timing.seconds(10));
    }

    /**
     * What {@code future} failed with (the cause itself, not an {@link ExecutionException}); a
     * {@link CancellationException} when it was cancelled.
     *
     * @throws AssertionError when it completes normally (the message shows the value), or is not done within
     *     {@code timeout}
     */
    public static Throwable failure(Future<?> future, Duration timeout) {
        Object value;
        try {
            value = future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            return e.getCause() != null ? e.getCause() : e;
        } catch (CancellationException e) {
            return e;
        } catch (TimeoutException e) {
            throw new AssertionError(notDone(timeout) + " (expected it to fail)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for a future to fail", e);
        }
        throw new AssertionError("expected the future to fail, but it completed with: " + value);
    }

    private static String notDone(Duration timeout) {
        return "future not done within " + timeout.toMillis() + " ms (timing factor " + Timing.factor() + ")";
    }
}
