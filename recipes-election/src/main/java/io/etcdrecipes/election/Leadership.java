package io.etcdrecipes.election;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.client.Txn;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.recipes.Guard;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Registration;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.internal.Blocking;

import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * One leadership term won by {@link Election#campaign}: the leader's key and its {@link Ownership} (fencing token =
 * the key's create revision, guard, {@code lost()}), plus Go's {@link #proclaim} and {@link #resign}. Lost when the
 * session is {@code LOST}, or {@code SUSPENDED} under the default policy; once lost, a term is over for good (campaign
 * again for a new one, with a higher token). Any thread may use or close it; closing resigns.
 */
public final class Leadership implements AutoCloseable {

  private final Session session;
  private final Ownership ownership;
  private volatile ByteSequence value;

  Leadership(Session session, Ownership ownership, ByteSequence value) {
    this.session = session;
    this.ownership = ownership;
    this.value = value;
  }

  /** The term as an {@link Ownership} (what locks hand out): for code that handles both. */
  public Ownership ownership() {
    return ownership;
  }

  /** The leader's key, {@code name/<hex lease>}. */
  public ByteSequence key() {
    return ownership.key();
  }

  /** The fencing token of this term: the key's create revision, strictly larger for every later term. */
  public long fencingToken() {
    return ownership.fencingToken();
  }

  public Guard guard() {
    return ownership.guard();
  }

  /** The value this leader proposed or last proclaimed. */
  public ByteSequence value() {
    return value;
  }

  /** Still the leader as far as this process can know (see {@link Ownership#isValid()}). */
  public boolean isValid() {
    return ownership.isValid();
  }

  /** Completes with why the term ended, once it is lost; cancelled when it was resigned first. */
  public CompletableFuture<OwnershipLostException> lost() {
    return ownership.lost();
  }

  public Registration onLost(Consumer<OwnershipLostException> listener) {
    return ownership.onLost(listener);
  }

  /** A transaction guarded by this term. */
  public Txn txn(KV kv, Compare... more) {
    return ownership.txn(kv, more);
  }

  /** Commits {@code ops} guarded by this term; {@link OwnershipLostException} when it is over (nothing written). */
  public CompletableFuture<TxnResponse> commit(KV kv, Op... ops) {
    return ownership.commit(kv, ops);
  }

  /**
   * Announces a new value without another election (Go's {@code Proclaim}): a put of the leader key guarded by its
   * create revision. Fails with {@link OwnershipLostException} when the term is over (Go: {@code ErrElectionNotLeader});
   * nothing is written then.
   */
  public CompletableFuture<Void> proclaimAsync(ByteSequence newValue) {
    Election.checkValue(newValue);
    return ownership.commit(session.client().kv(),
            Op.put(ownership.key(), newValue, PutOption.lease(session.leaseId())))
        .thenAccept(r -> value = newValue);
  }

  /** {@link #proclaimAsync} bounded by the client's call timeout. */
  public void proclaim(ByteSequence newValue) throws InterruptedException {
    try {
      Blocking.await(proclaimAsync(newValue), session.client().config().callTimeout().plusSeconds(1));
    } catch (TimeoutException e) {
      throw new io.etcdrecipes.client.DeadlineExceededException(io.etcdrecipes.client.ErrorCode.DEADLINE_EXCEEDED,
          "proclaim got no answer in time (it may have been applied)", null, e);
    }
  }

  public void proclaim(String newValue) throws InterruptedException {
    proclaim(ByteSequence.of(Objects.requireNonNull(newValue, "value")));
  }

  /**
   * Gives the leadership up (Go's {@code Resign}): deletes the leader key, guarded, so the next candidate takes over
   * at once. Returns whether it was still held; see {@link Ownership#release()}.
   */
  public boolean resign() {
    return ownership.release();
  }

  public CompletableFuture<Boolean> resignAsync() {
    return ownership.releaseAsync();
  }

  /** {@link #resign()} that never throws. */
  @Override
  public void close() {
    ownership.close();
  }

  @Override
  public String toString() {
    return "Leadership{" + key().toStringUtf8() + ", token=" + fencingToken() + ", value=" + value.toStringUtf8()
        + (isValid() ? "" : ", over") + "}";
  }
}
