package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;

import java.util.Objects;

/**
 * What a {@link ContentionPolicy} decides for a contender after one read: it owns, or it waits for one thing to
 * happen, after which the {@link Contention} driver reads and decides again.
 */
public sealed interface Turn {

  /** The contender owns (the lock, a permit, the leadership). */
  static Turn owns() {
    return Owns.INSTANCE;
  }

  /** Wait until {@code key} is deleted (a predecessor releases or gives up). */
  static Turn awaitDelete(ByteSequence key) {
    return new AwaitDelete(key);
  }

  /** Wait until {@code key} is written or deleted (a predecessor moves on, e.g. it became a permit holder). */
  static Turn awaitChange(ByteSequence key) {
    return new AwaitChange(key);
  }

  /**
   * Wait until any key under {@code prefix} created before the contender is deleted (one watch on the prefix, with
   * the deleted key's previous version to tell its age): for a contender that one of several holders can let in.
   */
  static Turn awaitOlderDelete(ByteSequence prefix) {
    return new AwaitOlderDelete(prefix);
  }

  /** See {@link #owns()}. */
  enum Owns implements Turn { INSTANCE }

  /** See {@link #awaitDelete}. */
  record AwaitDelete(ByteSequence key) implements Turn {
    public AwaitDelete {
      Objects.requireNonNull(key, "key");
    }
  }

  /** See {@link #awaitChange}. */
  record AwaitChange(ByteSequence key) implements Turn {
    public AwaitChange {
      Objects.requireNonNull(key, "key");
    }
  }

  /** See {@link #awaitOlderDelete}. */
  record AwaitOlderDelete(ByteSequence prefix) implements Turn {
    public AwaitOlderDelete {
      Objects.requireNonNull(prefix, "prefix");
    }
  }
}
