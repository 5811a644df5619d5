package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.PutOption;

/**
 * One attempt of an {@link Stm} transaction, handed to the function. Reads go to etcd (once per key per
 * attempt) at the isolation level's revision; writes are buffered and committed together. Not thread-safe,
 * and not usable after the function returned.
 */
public interface StmTx {

  /**
   * The value of {@code key}: this transaction's own write if it wrote it (or {@code null} if it deleted it),
   * else the stored value, or {@code null} when the key does not exist. Adds the key to the read set.
   */
  ByteSequence get(ByteSequence key);

  /** {@link #get(ByteSequence)} as UTF-8 text, {@code null} when missing. */
  default String get(String key) {
    ByteSequence v = get(ByteSequence.of(key));
    return v == null ? null : v.toStringUtf8();
  }

  /** The mod revision of {@code key} as read (0 when it does not exist); adds it to the read set. */
  long rev(ByteSequence key);

  default long rev(String key) {
    return rev(ByteSequence.of(key));
  }

  void put(ByteSequence key, ByteSequence value);

  /** A put with options, e.g. {@code PutOption.lease(id)}. */
  void put(ByteSequence key, ByteSequence value, PutOption option);

  default void put(String key, String value) {
    put(ByteSequence.of(key), ByteSequence.of(value));
  }

  void delete(ByteSequence key);

  default void delete(String key) {
    delete(ByteSequence.of(key));
  }

  /** Which attempt this is, from 1. */
  int attempt();

  Isolation isolation();
}
