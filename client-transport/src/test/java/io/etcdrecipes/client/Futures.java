package io.etcdrecipes.client;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Waiting on futures in tests, bounded. */
final class Futures {

  private Futures() {}

  /** The exception {@code f} fails with (within 20 s); an AssertionError when it succeeds. */
  static Throwable failure(CompletableFuture<?> f) {
    try {
      f.get(20, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("expected the call to fail");
  }
}
