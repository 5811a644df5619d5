package io.etcdrecipes.client;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Leases: time-limited grants that keys can be attached to. Kept-alive leases of one client share one
 * keep-alive stream; each is renewed at a third of its TTL.
 */
public interface Lease {

  /** Grants a lease of {@code ttlSeconds}; the server picks the ID. */
  CompletableFuture<LeaseGrantResponse> grant(long ttlSeconds);

  /** Grants a lease with a chosen ID (fails with {@code LEASE_EXISTS} when it is taken). */
  CompletableFuture<LeaseGrantResponse> grant(long ttlSeconds, long leaseId);

  /** Ends the lease and deletes its keys at once. */
  CompletableFuture<LeaseRevokeResponse> revoke(long leaseId);

  CompletableFuture<LeaseTimeToLiveResponse> timeToLive(long leaseId, boolean withKeys);

  /** The IDs of every lease in the cluster. */
  CompletableFuture<List<Long>> leases();

  /**
   * Keeps the lease alive until {@link KeepAlive#close()} or the client closes, renewing it at a third of
   * its TTL on the client's shared keep-alive stream. Loss is reported to the listener, never silently.
   */
  KeepAlive keepAlive(long leaseId, KeepAliveListener listener);

  /**
   * As {@link #keepAlive(long, KeepAliveListener)}, for a lease known to live until {@code renewedAtNanos}
   * ({@link System#nanoTime()} of the grant's or last renewal's send) plus {@code ttlSeconds}: its renewals and its
   * local loss deadline count from there from the start, instead of from a guess until the first answer.
   */
  KeepAlive keepAlive(long leaseId, long renewedAtNanos, long ttlSeconds, KeepAliveListener listener);

  /** Renews the lease once, on the shared stream (no stream is opened per call). */
  CompletableFuture<LeaseKeepAliveResponse> keepAliveOnce(long leaseId);

  Lease withTimeout(Duration timeout);
}
