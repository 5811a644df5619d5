package io.etcdrecipes.client;

import java.util.concurrent.CompletableFuture;

/** A lease being kept alive. {@link #close()} stops renewing it (it then expires after its TTL). */
public interface KeepAlive extends AutoCloseable {

  long leaseId();

  /**
   * The {@link System#nanoTime()} at which the newest answered renewal was sent (the lease lives at least until then
   * + its TTL), as soon as the answer is read — before any listener runs; the hint given to
   * {@link Lease#keepAlive(long, long, long, KeepAliveListener)} until then, else {@link Long#MIN_VALUE}.
   */
  long renewedAtNanos();

  /**
   * Completes exceptionally when the lease is lost (after {@link KeepAliveListener#onLost} returned);
   * normally when this keep-alive or the client was closed.
   */
  CompletableFuture<Void> done();

  @Override
  void close();
}
