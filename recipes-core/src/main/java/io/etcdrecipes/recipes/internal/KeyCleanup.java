package io.etcdrecipes.recipes.internal;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.recipes.Contender;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Deleting a recipe's key when it lets go or gives up. A key that stays blocks everyone queued behind it until its
 * session ends, so a delete that fails is retried in the background (backoff 100 ms doubling to 2 s) for as long
 * as the session is not {@code LOST} (once it is, its lease deletes the key) — whatever the failure: an overloaded
 * server ("too many requests") and a definite refusal (a permission revoked while the key was held) too, since the
 * key is still there and the refusal may be lifted. The caller hears the first attempt's outcome; {@code after} runs
 * only once the key is known gone (deleted, or its session lost), e.g. to let the next local thread have the key: a
 * local turn passed on while the key still existed would hand the next thread the same key and fencing token.
 */
public final class KeyCleanup {

  private static final Logger log = LoggerFactory.getLogger(KeyCleanup.class);
  private static final long FIRST_RETRY_MILLIS = 100;
  private static final long MAX_RETRY_MILLIS = 2_000;

  private KeyCleanup() {}

  /**
   * Deletes {@code c}'s key if it still has {@code c}'s create revision. Completes with whether this call deleted it
   * (false: it was already gone or re-created), or with the first attempt's failure.
   */
  public static CompletableFuture<Boolean> deleteGuarded(KV kv, Session session, Contender c, Runnable after) {
    return run(session, c.key(), () -> kv.txn().when(Compare.createRevision(c.key()).equal(c.createRevision()))
        .then(Op.delete(c.key())).commit().thenApply(r -> r.succeeded()), after);
  }

  /**
   * Lets go of a <em>held</em> key ({@code c}): {@link #deleteGuarded}, except after {@link Session#orphan()}, when the
   * lease and the keys it holds are left for whoever resumes the lease — then only {@code after} runs (what is held
   * in this process). A key that was only waiting is deleted whatever the session (nobody could take it up).
   */
  public static CompletableFuture<Boolean> releaseHeld(KV kv, Session session, Contender c, Runnable after) {
    io.etcdrecipes.recipes.SessionLostException lostCause = session.lostCause();
    if (lostCause != null && lostCause.reason() == io.etcdrecipes.recipes.SessionLostException.Reason.ORPHANED) {
      runQuietly(after);
      return CompletableFuture.completedFuture(false);
    }
    return deleteGuarded(kv, session, c, after);
  }

  /** Deletes {@code key} if it is still the version written at {@code modRevision} (a flag someone may write again). */
  public static CompletableFuture<Boolean> deleteIfUnchanged(KV kv, Session session, ByteSequence key, long modRevision,
                                                            Runnable after) {
    return run(session, key, () -> kv.txn().when(Compare.modRevision(key).equal(modRevision))
        .then(Op.delete(key)).commit().thenApply(r -> r.succeeded()), after);
  }

  /**
   * Runs {@code cleanup} (one of the deletes above, given its {@code after}) and completes once it is over — the key
   * deleted or its session lost — rather than with the first attempt's outcome: for
   * a caller that promises "our key is deleted before this returns".
   */
  public static CompletableFuture<Void> untilGone(java.util.function.Function<Runnable, CompletableFuture<?>> cleanup) {
    // (a refused delete keeps being retried: this completes when it finally goes through, or the session is lost)
    CompletableFuture<Void> gone = new CompletableFuture<>();
    cleanup.apply(() -> gone.complete(null));
    return gone;
  }

  /** Deletes {@code key} if it is attached to {@code session}'s lease (a key of ours whose revision we do not know). */
  public static CompletableFuture<Boolean> deleteIfOnLease(KV kv, Session session, ByteSequence key, Runnable after) {
    return run(session, key, () -> kv.txn().when(Compare.lease(key).equal(session.leaseId()))
        .then(Op.delete(key)).commit().thenApply(r -> r.succeeded()), after);
  }

  /**
   * After a create guarded by {@code fence} ({@link Fences#notRaised}) ended with an unknown outcome: raises the fence
   * first (a create still in flight then writes nothing when it lands), then deletes {@code key} if it is on the
   * session's lease.
   */
  public static CompletableFuture<Boolean> deleteAfterFence(KV kv, Session session, ByteSequence fence,
                                                           ByteSequence key, Runnable after) {
    return Fences.raise(kv, session, fence).thenCompose(v -> deleteIfOnLease(kv, session, key, after));
  }

  /**
   * Deletes {@code key} if it was created at or before {@code revision}: after a fence raised at {@code revision}, the
   * incarnation a lost create may have made, never one a later create of the caller made (a delete retried after its
   * answer was lost may apply late).
   */
  public static CompletableFuture<Boolean> deleteIfCreatedBy(KV kv, Session session, ByteSequence key, long revision,
                                                             Runnable after) {
    return run(session, key, () -> kv.txn().when(Compare.createRevision(key).less(revision + 1))
        .then(Op.delete(key)).commit().thenApply(r -> r.succeeded()), after);
  }

  /** Deletes {@code key} whatever its revision (the caller knows nobody else uses it). */
  public static CompletableFuture<Boolean> deleteAny(KV kv, Session session, ByteSequence key, Runnable after) {
    return run(session, key, () -> kv.delete(key).thenApply(r -> r.deleted() > 0), after);
  }

  /**
   * A delete of the caller's own making (one that reads first, say), retried like the ones above; {@code delete}
   * completes with whether it deleted {@code key}.
   */
  public static CompletableFuture<Boolean> deleteBy(Session session, ByteSequence key,
                                                    Supplier<CompletableFuture<Boolean>> delete, Runnable after) {
    return run(session, key, delete, after);
  }

  private static CompletableFuture<Boolean> run(Session session, ByteSequence key,
                                                Supplier<CompletableFuture<Boolean>> delete, Runnable after) {
    CompletableFuture<Boolean> first = new CompletableFuture<>();
    attempt(session, key, delete, after, first, FIRST_RETRY_MILLIS);
    return first;
  }

  private static void attempt(Session session, ByteSequence key, Supplier<CompletableFuture<Boolean>> delete,
                              Runnable after, CompletableFuture<Boolean> first, long backoffMillis) {
    CompletableFuture<Boolean> f;
    try {
      f = delete.get();
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete((deleted, t) -> {
      // 'after' before the caller hears: whoever the caller tells next (a tryLock's caller trying again) finds the
      // local turn free already
      if (t == null) {
        runQuietly(after);
        first.complete(deleted);
        return;
      }
      if (session.state() == SessionState.LOST) {
        log.debug("{}: not deleted ({}); the session is lost, its lease takes the key", key.toStringUtf8(), t.toString());
        runQuietly(after);
        first.completeExceptionally(Blocking.unwrap(t));
        return;
      }
      if (Blocking.unwrap(t) instanceof io.etcdrecipes.client.ClosedClientException) {
        log.debug("{}: not deleted, the client is closed; its lease takes the key", key.toStringUtf8());
        runQuietly(after); // nobody can use the key through this client any more
        first.completeExceptionally(Blocking.unwrap(t));
        return;
      }
      first.completeExceptionally(Blocking.unwrap(t));
      if (!Outcomes.mayHaveApplied(t) && backoffMillis == FIRST_RETRY_MILLIS) {
        // a definite refusal (permission, too many requests): the key is still there, so is whatever waits for it
        log.warn("{}: refused to delete it ({}); retrying while the session lives (its lease deletes it when the"
            + " session ends)", key.toStringUtf8(), Blocking.unwrap(t).toString());
      } else {
        log.info("{}: delete failed ({}); retrying in {} ms while the session lives", key.toStringUtf8(),
            Blocking.unwrap(t).toString(), backoffMillis);
      }
      try {
        SharedExecutors.timer().schedule(() -> attempt(session, key, delete, after, first,
            Math.min(MAX_RETRY_MILLIS, backoffMillis * 2)), backoffMillis, TimeUnit.MILLISECONDS);
      } catch (RuntimeException e) { // the timer refused: do not hold up whoever waits for the key to go
        runQuietly(after);
      }
    });
  }

  private static void runQuietly(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      log.warn("after deleting a key", e);
    }
  }
}
