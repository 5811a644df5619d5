package io.etcdrecipes.election;

import io.etcdrecipes.client.ByteSequence;

import java.util.Objects;

/**
 * A leader of an election as etcd shows it: its key ({@code name/<hex lease>}), its value (the proposal, or the
 * last proclaimed value), and its revisions.
 *
 * @param key the leader's key
 * @param value its value
 * @param createRevision the key's create revision: the leader's fencing token, and its place among candidates
 * @param modRevision the revision of its last proclaim (or its creation)
 * @param revision the revision at which this was observed (an event's, or a read's header revision)
 */
public record LeaderInfo(ByteSequence key, ByteSequence value, long createRevision, long modRevision, long revision) {

  public LeaderInfo {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
  }

  /** The value as UTF-8 text. */
  public String valueUtf8() {
    return value.toStringUtf8();
  }

  /** The lease the leader's key is on: its hex suffix (Go's layout). */
  public long leaseId() {
    String k = key.toStringUtf8();
    return Long.parseUnsignedLong(k.substring(k.lastIndexOf('/') + 1), 16);
  }
}
