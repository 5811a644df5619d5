package io.etcdrecipes.bench;

import java.util.concurrent.CompletableFuture;

/**
 * One client under test in this JVM, reduced to what the workloads do. Keys and values are prepared once in the
 * client's own byte type ({@code B}) before a run, so a run measures the calls, not our conversions.
 */
interface Target<B> extends BenchClient {

  B bytes(byte[] bytes);

  CompletableFuture<?> put(B key, B value);

  CompletableFuture<?> get(B key, boolean serializable);

  /** The key's version (0 when missing). */
  CompletableFuture<Long> version(B key);

  /** A transaction: if the key's version equals {@code version} then put; completes with whether it did. */
  CompletableFuture<Boolean> casPut(B key, long version, B value);

  /**
   * Watches every key under {@code prefix}; for each PUT event hands its mod revision and the first 8 bytes
   * of the value (a big-endian long) to {@code sink}. Returns when the server has created the watch.
   */
  Watching watchPrefix(B prefix, EventSink sink) throws Exception;

  CompletableFuture<Long> grant(long ttlSeconds);

  /** Keeps the lease alive; {@code onRenewed} runs after each renewal, {@code onLost} once if it is lost. */
  AutoCloseable keepAlive(long leaseId, Runnable onRenewed, Runnable onLost);

  CompletableFuture<?> revoke(long leaseId);

  /**
   * A contender for the mutex {@code name} with a lease of its own ({@code ttlSeconds}), kept alive until it is
   * closed: ours a {@code Session} and a {@code Mutex} on it; jetcd a granted lease, kept alive, and the server-side
   * Lock RPC with it. Completes once the lease is granted.
   */
  CompletableFuture<LockContender> lockContender(String name, long ttlSeconds);

  /**
   * A candidate in the election {@code name} with a lease of its own ({@code ttlSeconds}), kept alive until it is
   * closed: ours a {@code Session} and an {@code Election} on it; jetcd a granted lease, kept alive, and the
   * server-side Election RPC with it. Its {@link LockContender#lock()} campaigns with {@code proposal} and completes
   * once this candidate leads; the {@link Held#unlock()} it hands out resigns. Completes once the lease is granted.
   */
  CompletableFuture<LockContender> electionCandidate(String name, long ttlSeconds, String proposal);

  /** One holder-to-be of a lock (or a permit) with a lease of its own. */
  interface LockContender {
    /** Completes once held, with what lets go of it. */
    CompletableFuture<Held> lock();

    /** Ends the contender's lease (a pending {@link #lock()} fails or completes; its key is gone). */
    CompletableFuture<?> closeAsync();
  }

  /** A lock or permit held. */
  interface Held {
    CompletableFuture<?> unlock();
  }

  /** Receives what the watch workload needs of each PUT event. */
  interface EventSink {
    void onPut(long modRevision, long valueHead);
  }

  /** A running watch. */
  interface Watching extends AutoCloseable {
    @Override
    void close();
  }
}
