package io.etcdrecipes.client;

import java.util.List;
import java.util.Objects;

/** One operation inside a transaction: a get, a put, a delete, or a nested transaction. */
public sealed interface Op {

  static Op get(ByteSequence key) {
    return new Get(key, GetOption.DEFAULT);
  }

  static Op get(ByteSequence key, GetOption option) {
    return new Get(key, option);
  }

  static Op put(ByteSequence key, ByteSequence value) {
    return new Put(key, value, PutOption.DEFAULT);
  }

  static Op put(ByteSequence key, ByteSequence value, PutOption option) {
    return new Put(key, value, option);
  }

  static Op delete(ByteSequence key) {
    return new Delete(key, DeleteOption.DEFAULT);
  }

  static Op delete(ByteSequence key, DeleteOption option) {
    return new Delete(key, option);
  }

  /** A nested transaction (etcd 3.3+). */
  static Op txn(List<Compare> when, List<Op> then, List<Op> orElse) {
    return new Txn(List.copyOf(when), List.copyOf(then), List.copyOf(orElse));
  }

  /** A get inside a transaction. */
  record Get(ByteSequence key, GetOption option) implements Op {
    public Get {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(option, "option");
    }
  }

  /** A put inside a transaction. */
  record Put(ByteSequence key, ByteSequence value, PutOption option) implements Op {
    public Put {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(value, "value");
      Objects.requireNonNull(option, "option");
    }
  }

  /** A delete inside a transaction. */
  record Delete(ByteSequence key, DeleteOption option) implements Op {
    public Delete {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(option, "option");
    }
  }

  /** A transaction inside a transaction. */
  record Txn(List<Compare> when, List<Op> then, List<Op> orElse) implements Op {}
}
