package io.etcdrecipes.recipes;

import io.etcdrecipes.recipes.internal.Blocking;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * A wait in progress ({@link WaitForDelete}, {@link WaitForEvents}), in the blocking convention used all over
 * recipes-core: {@link #await(Duration)} throws {@link TimeoutException} when the time is up, {@link #await()}
 * is interruptible, and both give up the wait (close its watch) when they end without a result. A failure is
 * thrown as its {@link io.etcdrecipes.client.EtcdException}. {@link #close()} gives up the wait too.
 *
 * @param <T> what the wait ends with
 */
public abstract class Wait<T> implements AutoCloseable {

  private final CompletableFuture<T> result = new CompletableFuture<>();

  protected Wait() {
    result.whenComplete((v, t) -> {
      if (t != null || result.isCancelled()) {
        release();
      }
    });
  }

  /** Completes with the result; cancelling or completing it early gives up the wait. */
  public CompletableFuture<T> future() {
    return result;
  }

  public boolean isDone() {
    return result.isDone();
  }

  /** Waits at most {@code timeout}; on timeout the wait is given up and {@link TimeoutException} thrown. */
  public T await(Duration timeout) throws InterruptedException, TimeoutException {
    try {
      return Blocking.await(result, timeout);
    } catch (InterruptedException | TimeoutException e) {
      close();
      throw e;
    }
  }

  /** Waits until done or interrupted; on interrupt the wait is given up. */
  public T await() throws InterruptedException {
    try {
      return Blocking.await(result);
    } catch (InterruptedException e) {
      close();
      throw e;
    }
  }

  /** Gives up the wait (a no-op when it is done). */
  @Override
  public void close() {
    result.cancel(false);
  }

  protected final boolean complete(T value) {
    boolean done = result.complete(value);
    release();
    return done;
  }

  protected final boolean fail(Throwable error) {
    return result.completeExceptionally(error);
  }

  /** Releases what the wait holds (its watch); called once it is done one way or another. May run twice. */
  protected abstract void release();
}
