package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.PutOption;

import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The owner-key layout of Go's {@code concurrency.Mutex} and {@code Election}, byte for byte: a contender's
 * key is {@code prefix + "/" + lowercase hex lease id} (no padding), contenders are ordered by create
 * revision, and the oldest one owns. {@code etcdctl lock} and {@code etcdctl elect} see our keys and we see
 * theirs.
 */
public final class Keys {

  private static final ByteSequence SLASH = ByteSequence.of("/");

  private Keys() {}

  /** {@code prefix + "/"}: the range every contender's key is in (Go's {@code pfx + "/"}). */
  public static ByteSequence ownerPrefix(ByteSequence prefix) {
    return Objects.requireNonNull(prefix, "prefix").concat(SLASH);
  }

  /** {@code prefix + "/" + Long.toHexString(leaseId)} (Go: {@code fmt.Sprintf("%s%x", pfx+"/", lease)}). */
  public static ByteSequence ownerKey(ByteSequence prefix, long leaseId) {
    if (leaseId <= 0) {
      throw new IllegalArgumentException("lease ID must be > 0, got " + leaseId);
    }
    return ownerPrefix(prefix).concat(Long.toHexString(leaseId));
  }

  public static ByteSequence ownerKey(String prefix, long leaseId) {
    return ownerKey(ByteSequence.of(prefix), leaseId);
  }

  /**
   * Creates this lease's owner key under {@code prefix} unless it exists, in one transaction (Go's
   * {@code Mutex.Lock} and {@code Election.Campaign} first step): if {@code createRevision(key) == 0} put it
   * with {@code value} attached to the lease, else get it; in both branches also get the oldest key under
   * {@code prefix/}, so an uncontended caller knows in one round trip that it owns.
   */
  public static CompletableFuture<OwnerKey> createOrGet(KV kv, ByteSequence prefix, long leaseId, ByteSequence value) {
    ByteSequence key = ownerKey(prefix, leaseId);
    Op oldest = Op.get(ownerPrefix(prefix), GetOption.firstCreate());
    return kv.txn()
        .when(Compare.createRevision(key).equal(0))
        .then(Op.put(key, value, PutOption.lease(leaseId)), oldest)
        .orElse(Op.get(key), oldest)
        .commit()
        .thenApply(r -> {
          GetResponse owner = r.getResponse(1);
          KeyValue first = owner.first();
          if (r.succeeded()) {
            return new OwnerKey(key, r.header().revision(), true, value, first, r.header());
          }
          KeyValue mine = r.getResponse(0).first();
          if (mine == null) { // cannot happen: the compare said it exists, and the get ran at the same revision
            throw new IllegalStateException("owner key " + key + " vanished inside one transaction");
          }
          return new OwnerKey(key, mine.createRevision(), false, mine.value(), first, r.header());
        });
  }

  public static CompletableFuture<OwnerKey> createOrGet(KV kv, String prefix, long leaseId, String value) {
    return createOrGet(kv, ByteSequence.of(prefix), leaseId, ByteSequence.of(value));
  }
}
