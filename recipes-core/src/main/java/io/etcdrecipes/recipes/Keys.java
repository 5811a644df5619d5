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
    return createOrGet(kv, prefix, leaseId, value, new Compare[0]);
  }

  /**
   * {@link #createOrGet(KV, ByteSequence, long, ByteSequence)} with more compares in the create branch's condition
   * (a recipe's fence: see {@code Attempt}); when one of them fails and the key is missing, the transaction writes
   * nothing and the future fails with {@link IllegalStateException}.
   */
  public static CompletableFuture<OwnerKey> createOrGet(KV kv, ByteSequence prefix, long leaseId, ByteSequence value,
                                                        Compare... also) {
    ByteSequence key = ownerKey(prefix, leaseId);
    Op oldest = Op.get(ownerPrefix(prefix), GetOption.firstCreate());
    Compare[] when = new Compare[also.length + 1];
    when[0] = Compare.createRevision(key).equal(0);
    System.arraycopy(also, 0, when, 1, also.length);
    return kv.txn()
        .when(when)
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
          if (mine == null) { // only when an extra compare failed: nothing was written
            throw new IllegalStateException("owner key " + key + " not created: a fence of the caller was raised");
          }
          return new OwnerKey(key, mine.createRevision(), false, mine.value(), first, r.header());
        });
  }

  public static CompletableFuture<OwnerKey> createOrGet(KV kv, String prefix, long leaseId, String value) {
    return createOrGet(kv, ByteSequence.of(prefix), leaseId, ByteSequence.of(value));
  }
}
