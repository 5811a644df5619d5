package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;

import java.util.Objects;

/**
 * One contender's key in a queue of keys ordered by create revision (a lock waiter, a permit claim, a candidate):
 * the key and its create revision, which orders it among the others and is its fencing token once it owns.
 */
public record Contender(ByteSequence key, long createRevision) {

  public Contender {
    Objects.requireNonNull(key, "key");
    if (createRevision <= 0) {
      throw new IllegalArgumentException("createRevision must be > 0, got " + createRevision);
    }
  }

  /** The compare that holds while this key exists with this create revision. */
  public Guard guard() {
    return new Guard(key, createRevision);
  }
}
