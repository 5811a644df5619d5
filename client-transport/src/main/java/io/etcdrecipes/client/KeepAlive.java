package io.etcdrecipes.client;

import java.util.concurrent.CompletableFuture;

/** A lease being kept alive. {@link #close()} stops renewing it (it then expires after its TTL). */
public interface KeepAlive extends AutoCloseable {

  long leaseId();

  /**
   * Completes exceptionally when the lease is lost (after {@link KeepAliveListener#onLost} returned);
   * normally when this keep-alive or the client was closed.
   */
  CompletableFuture<Void> done();

  @Override
  void close();
}
