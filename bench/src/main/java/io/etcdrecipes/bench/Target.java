package io.etcdrecipes.bench;

import java.util.concurrent.CompletableFuture;

/**
 * One client under test, reduced to what the workloads do. Keys and values are prepared once in the
 * client's own byte type ({@code B}) before a run, so a run measures the calls, not our conversions.
 */
interface Target<B> extends AutoCloseable {

  /** {@code etcd-recipes} or {@code jetcd}. */
  String name();

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

  @Override
  void close();

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
