package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Txn;

import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * Proof of ownership of a key created by a recipe (a lock key, a leader key): the key and its create
 * revision, which is also the fencing token. {@link #isOwner()} is the compare that makes a write conditional
 * on the owner still holding it (Go: {@code Mutex.IsOwner()}, {@code createRevision(key) == rev}); once the
 * key is deleted, even if it is created again, the compare fails.
 *
 * <pre>{@code
 * TxnResponse r = guard.txn(client.kv()).then(Op.put(k, v)).commit().join();
 * if (!r.succeeded()) { ... no longer the owner: nothing was written ... }
 * }</pre>
 */
public record Guard(ByteSequence key, long createRevision) {

  public Guard {
    Objects.requireNonNull(key, "key");
    if (createRevision <= 0) {
      throw new IllegalArgumentException("create revision must be > 0, got " + createRevision);
    }
  }

  /** The fencing token: the key's create revision, strictly increasing from one owner to the next. */
  public long fencingToken() {
    return createRevision;
  }

  /** True while the key exists with this create revision. */
  public Compare isOwner() {
    return Compare.createRevision(key).equal(createRevision);
  }

  /** A transaction guarded by {@link #isOwner()} and any further compares. */
  public Txn txn(KV kv, Compare... more) {
    Compare[] all = new Compare[more.length + 1];
    all[0] = isOwner();
    System.arraycopy(more, 0, all, 1, more.length);
    return kv.txn().when(all);
  }

  /** Reads the key: whether it still exists with this create revision. */
  public CompletableFuture<Boolean> check(KV kv) {
    return kv.get(key).thenApply(r -> {
      KeyValue kv1 = r.first();
      return kv1 != null && kv1.createRevision() == createRevision;
    });
  }
}
