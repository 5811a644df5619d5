package io.etcdrecipes.client;

import io.etcdrecipes.testkit.Timing;
import java.util.concurrent.CompletableFuture;

/**
 * What {@code AuthTest} and {@code TlsTest} still call {@code Futures.failure(f)}: a delegate to the testkit's
 * {@link io.etcdrecipes.testkit.Futures} (with the 20 s they were written with), which every other test uses
 * directly. Remove once those tests import it.
 */
final class Futures {

  private Futures() {}

  static Throwable failure(CompletableFuture<?> f) {
    return io.etcdrecipes.testkit.Futures.failure(f, Timing.seconds(20));
  }
}
