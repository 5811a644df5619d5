package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.ResponseHeader;

/**
 * The result of {@link Keys#createOrGet}: this session's key under a prefix and what the same transaction saw.
 *
 * @param key the owner key, {@code prefix/<lowercase hex lease id>}
 * @param createRevision its create revision: the order among contenders and the fencing token
 * @param created whether this call created it (else it existed: the session already held or waited)
 * @param value the key's value (the one written when created, else the stored one)
 * @param oldest the key with the lowest create revision under {@code prefix/} after the transaction (this key
 *     itself when it is the oldest)
 * @param header the transaction's header; its revision is the one to watch from, plus one
 */
public record OwnerKey(ByteSequence key, long createRevision, boolean created, ByteSequence value, KeyValue oldest,
                       ResponseHeader header) {

  /**
   * This key is the oldest under the prefix: the lock is held or the leadership won. False when the transaction
   * saw no key at all (it cannot, having just read or written ours: such an answer is not trusted).
   */
  public boolean isOldest() {
    return oldest != null && oldest.createRevision() == createRevision;
  }

  public Guard guard() {
    return new Guard(key, createRevision);
  }
}
