package io.etcdrecipes.client;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Keys and values: get, put, delete, compact and transactions. Every call returns at once with a future
 * that completes when etcd answers, with an {@link EtcdException} when it fails, and by the client's
 * default deadline at the latest ({@link #withTimeout(Duration)} for another one).
 */
public interface KV {

  default CompletableFuture<GetResponse> get(ByteSequence key) {
    return get(key, GetOption.DEFAULT);
  }

  CompletableFuture<GetResponse> get(ByteSequence key, GetOption option);

  default CompletableFuture<GetResponse> get(String key) {
    return get(ByteSequence.of(key));
  }

  default CompletableFuture<PutResponse> put(ByteSequence key, ByteSequence value) {
    return put(key, value, PutOption.DEFAULT);
  }

  CompletableFuture<PutResponse> put(ByteSequence key, ByteSequence value, PutOption option);

  default CompletableFuture<PutResponse> put(String key, String value) {
    return put(ByteSequence.of(key), ByteSequence.of(value));
  }

  default CompletableFuture<DeleteResponse> delete(ByteSequence key) {
    return delete(key, DeleteOption.DEFAULT);
  }

  CompletableFuture<DeleteResponse> delete(ByteSequence key, DeleteOption option);

  default CompletableFuture<DeleteResponse> delete(String key) {
    return delete(ByteSequence.of(key));
  }

  /** Discards history before {@code revision}; {@code physical} waits until the space is reclaimed. */
  CompletableFuture<CompactResponse> compact(long revision, boolean physical);

  default CompletableFuture<CompactResponse> compact(long revision) {
    return compact(revision, false);
  }

  Txn txn();

  /**
   * Iterates over a large range page by page, every page read at the revision of the first one, so the
   * whole iteration sees one consistent snapshot and at most one page is held in memory.
   */
  RangeIterator iterate(ByteSequence key, GetOption option, int pageSize);

  /** This KV with another per-call deadline. */
  KV withTimeout(Duration timeout);
}
