package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.ResponseHeader;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.Fences;
import io.etcdrecipes.recipes.internal.KeyCleanup;
import io.etcdrecipes.recipes.internal.LocalTurns;
import io.etcdrecipes.recipes.internal.Outcomes;
import io.etcdrecipes.recipes.internal.SharedExecutors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * One attempt of a queue-shaped recipe to own — a lock, a permit, a leadership — from start to an
 * {@link Ownership}, or to a failure that leaves nothing behind. Two kinds of key:
 *
 * <ul>
 *   <li>{@link #ownerKey}: the session's owner key under a prefix, {@code prefix/<hex lease>}, as Go's {@code Mutex}
 *       and {@code Election}. First a local turn on the key (fair, per session): threads of one JVM that share a
 *       session queue here, because they would otherwise share the one key and all "own". Then Go's create-or-get
 *       transaction, which also reads the oldest contender (uncontended: one round trip).</li>
 *   <li>{@link #uniqueKey}: a key of its own, {@code prefix/<unix nanos>} on the session's lease (Go's
 *       {@code newUniqueKV}, used by its read-write mutex), created only if missing.</li>
 * </ul>
 * Then, unless it owns already, the {@link Contention} wait, which checks that our key still exists with our create
 * revision and never owns while the session is not usable under the policy.
 *
 * <p>A failed, timed-out, interrupted or abandoned attempt deletes its key before its cleanup completes — also when
 * the creating request failed with an unknown outcome: the key's name is known before it is sent, so it is deleted
 * (an owner key whatever its revision, under its local turn; a unique key if it is on our lease) and looked at again
 * once the call timeout has passed, in case the lost request was applied late.
 *
 * <p>A create that fails with a {@linkplain Outcomes#isTransient transient} error (an etcd election, a killed or
 * unreachable member) does not fail a waiting attempt: its key is cleaned up as above (fence raised, key deleted,
 * the local turn kept) and the create is tried again with a new fence, after a backoff of 50 ms doubling to 1 s, for as
 * long as the session is not lost — the caller's own timeout bounds it. The wait itself rides through the same
 * failures ({@link Contention}).
 */
public final class Attempt {

  private static final Logger log = LoggerFactory.getLogger(Attempt.class);
  private static final long FIRST_RETRY_MILLIS = 50;
  private static final long MAX_RETRY_MILLIS = 1_000;
  /** How long a timed-out or interrupted caller waits for the cleanup while etcd cannot be reached. */
  private static final long UNREACHABLE_CLEANUP_WAIT_MILLIS = 250;
  /** A create unanswered for this long counts as "etcd cannot be reached" for that wait. */
  private static final long UNANSWERED_CREATE_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** Whether the attempt waits for its turn or gives up at once when someone else owns. */
  public enum Mode { WAIT, TRY }

  private final Session session;
  private final ByteSequence prefix;
  private final boolean ownerKey;
  private final ByteSequence value;
  private final ContentionPolicy policy;
  private final SessionPolicy sessionPolicy;
  private final Mode mode;
  private final Function<OwnerKey, CompletableFuture<?>> onKey;
  private final boolean touchAfterWait;
  private boolean releaseWhenLost = true;
  private final CompletableFuture<Ownership> result = new CompletableFuture<>();
  /**
   * Raised when a create's outcome is unknown, so that a late apply of it writes nothing (see {@link Fences}); a new
   * one for each try of the create.
   */
  private volatile ByteSequence fence;
  /** The last create failed transiently and the cluster has not answered since: a cleanup now would only wait. */
  private volatile boolean unreachable;
  /** When the create now in flight was sent (0: none in flight). */
  private volatile long createSentNanos;
  private long retryMillis = FIRST_RETRY_MILLIS; // guarded by this
  /** Completes once nothing of this attempt is left in etcd (or owned). */
  private final CompletableFuture<Void> settled = new CompletableFuture<>();

  // guarded by this
  private ByteSequence key;
  private boolean abandoned;
  private CompletableFuture<LocalTurns.Turn> turnFuture;
  private Contention contention;

  private Attempt(Session session, ByteSequence prefix, boolean ownerKey, ByteSequence value, ContentionPolicy policy,
                  SessionPolicy sessionPolicy, Mode mode, Function<OwnerKey, CompletableFuture<?>> onKey,
                  boolean touchAfterWait) {
    this.session = Objects.requireNonNull(session, "session");
    this.prefix = Objects.requireNonNull(prefix, "prefix");
    this.ownerKey = ownerKey;
    this.key = ownerKey ? Keys.ownerKey(prefix, session.leaseId()) : null;
    this.value = Objects.requireNonNull(value, "value");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.sessionPolicy = Objects.requireNonNull(sessionPolicy, "sessionPolicy");
    this.mode = Objects.requireNonNull(mode, "mode");
    this.onKey = onKey;
    this.touchAfterWait = touchAfterWait;
    this.fence = Fences.newFence(session);
  }

  /**
   * Starts an attempt on the session's owner key under {@code prefix}. {@code onKey}, when given, runs after the
   * create-or-get and before any wait (an election proclaims there when the key existed with another value); its
   * failure fails the attempt. Throws {@link SessionLostException} at once, with nothing written, when the session
   * is lost.
   */
  public static Attempt ownerKey(Session session, ByteSequence prefix, ByteSequence value, ContentionPolicy policy,
                                 SessionPolicy sessionPolicy, Mode mode, Function<OwnerKey, CompletableFuture<?>> onKey) {
    return begin(new Attempt(session, prefix, true, value, policy, sessionPolicy, mode, onKey, false));
  }

  /**
   * {@link #ownerKey} for a recipe that releases a lost ownership itself once its owner stopped acting on it (see
   * {@link Ownership#start(Session, SessionPolicy, Contender, long, Ownership.Releaser, boolean)}).
   */
  public static Attempt ownerKeyKeptWhenLost(Session session, ByteSequence prefix, ByteSequence value,
                                             ContentionPolicy policy, SessionPolicy sessionPolicy, Mode mode,
                                             Function<OwnerKey, CompletableFuture<?>> onKey) {
    Attempt a = new Attempt(session, prefix, true, value, policy, sessionPolicy, mode, onKey, false);
    a.releaseWhenLost = false;
    return begin(a);
  }

  /**
   * Starts an attempt on a new key {@code prefix/<unix nanos>} on the session's lease. With {@code touchAfterWait},
   * a contender that owns after waiting rewrites its key (same value, guarded by its create revision) before it
   * counts as owning: a policy whose waiters watch their predecessor for a change ({@link Turn#awaitChange}, a
   * semaphore's queue) learns so that the one behind moved up. Throws {@link SessionLostException} at once, with
   * nothing written, when the session is lost.
   */
  public static Attempt uniqueKey(Session session, ByteSequence prefix, ByteSequence value, ContentionPolicy policy,
                                  SessionPolicy sessionPolicy, Mode mode, boolean touchAfterWait) {
    return begin(new Attempt(session, prefix, false, value, policy, sessionPolicy, mode, null, touchAfterWait));
  }

  private static Attempt begin(Attempt a) {
    SessionLostException lost = a.session.lostCause();
    if (lost != null) {
      throw lost;
    }
    a.begin();
    return a;
  }

  /** The key this attempt contends with ({@code null} while a unique key is not chosen yet). */
  public synchronized ByteSequence key() {
    return key;
  }

  /**
   * Completes with the ownership; with {@code null} in {@link Mode#TRY} when someone else owns (the key is deleted
   * first); exceptionally with what failed the attempt (after its key was deleted). Cancelling it abandons the
   * attempt.
   */
  public CompletableFuture<Ownership> result() {
    return result;
  }

  /**
   * Gives the attempt up: deletes its key and frees its local turn, or releases the ownership if it was won
   * meanwhile. Completes when that is done (bounded by the client's call timeout, after which the cleanup goes on
   * in the background).
   */
  public CompletableFuture<Void> abandon() {
    Contention c;
    CompletableFuture<LocalTurns.Turn> t;
    synchronized (this) {
      abandoned = true;
      c = contention;
      t = turnFuture;
    }
    if (t != null) {
      t.cancel(false); // still queued locally: leave the line (a granted turn is handled below)
    }
    if (c != null) {
      c.close();
    }
    if (result.cancel(false) || result.isCancelled()) {
      return settled.thenApply(v -> v); // the paths that see the cancel clean up and settle
    }
    Ownership won = result.isCompletedExceptionally() ? null : result.getNow(null);
    if (won != null) { // won before the cancel: let go of it
      return won.releaseAsync().handle((b, e) -> null);
    }
    return settled.thenApply(v -> v);
  }

  /** Waits at most {@code timeout}; on timeout gives up (its cleanup done) and throws {@link TimeoutException}. */
  public Ownership await(Duration timeout) throws InterruptedException, TimeoutException {
    try {
      return Blocking.await(result, timeout);
    } catch (TimeoutException | InterruptedException e) {
      awaitAbandon();
      throw e;
    } catch (CancellationException e) {
      throw new io.etcdrecipes.client.CancelledException(io.etcdrecipes.client.ErrorCode.CANCELLED,
          "the attempt under " + prefix.toStringUtf8() + " was abandoned", null, e);
    }
  }

  /** Waits until done; an interrupt gives the attempt up (its cleanup done) and is rethrown. */
  public Ownership await() throws InterruptedException {
    try {
      return Blocking.await(result);
    } catch (InterruptedException e) {
      awaitAbandon();
      throw e;
    } catch (CancellationException e) {
      throw new io.etcdrecipes.client.CancelledException(io.etcdrecipes.client.ErrorCode.CANCELLED,
          "the attempt under " + prefix.toStringUtf8() + " was abandoned", null, e);
    }
  }

  private void awaitAbandon() {
    boolean interrupted = Thread.interrupted();
    try {
      // a create in flight and then its delete: two calls. While etcd cannot be reached the cleanup cannot finish
      // now: do not hold the caller past its deadline for it (the fence makes a late create write nothing, the
      // cleanup goes on in the background, and the session's lease takes the key at the latest)
      long sent = createSentNanos;
      boolean cannotReach = unreachable || (sent != 0 && System.nanoTime() - sent > UNANSWERED_CREATE_NANOS);
      long nanos = cannotReach ? TimeUnit.MILLISECONDS.toNanos(UNREACHABLE_CLEANUP_WAIT_MILLIS)
          : Blocking.nanos(session.client().config().callTimeout().multipliedBy(2));
      abandon().get(nanos, TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      interrupted = true;
    } catch (Exception e) {
      log.debug("{}: cleanup after giving up goes on in the background: {}", this, e.toString());
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  private void begin() {
    if (!ownerKey) {
      createUnique(() -> { }, 1);
      return;
    }
    if (mode == Mode.TRY) {
      LocalTurns.Turn turn = LocalTurns.tryAcquire(session, key);
      if (turn == null) { // another thread of this JVM holds or wants it: held elsewhere
        settled.complete(null);
        result.complete(null);
        return;
      }
      createOrGet(turn);
      return;
    }
    CompletableFuture<LocalTurns.Turn> t = LocalTurns.acquire(session, key);
    synchronized (this) {
      turnFuture = t;
    }
    // queued behind another caller of this session: a session lost meanwhile ends the wait (the holder may never let go)
    Registration whileQueued = session.addListener((s, state) -> {
      if (state == SessionState.LOST) {
        t.completeExceptionally(s.lostCause());
      }
    });
    t.whenComplete((turn, e) -> whileQueued.close());
    t.whenComplete((turn, e) -> {
      if (e != null) { // gave up while queued locally: nothing was written
        settled.complete(null);
        result.completeExceptionally(Blocking.unwrap(e));
        return;
      }
      createOrGet(turn);
    });
  }

  private synchronized boolean isAbandoned() {
    return abandoned;
  }

  private void createOrGet(LocalTurns.Turn turn) {
    if (isAbandoned() || session.state() == SessionState.LOST) {
      turn.release();
      settled.complete(null);
      if (!result.isDone()) {
        result.completeExceptionally(session.state() == SessionState.LOST ? session.lostCause()
            : new CancellationException("abandoned"));
      }
      return;
    }
    createSentNanos = System.nanoTime();
    Keys.createOrGet(session.client().kv(), prefix, session.leaseId(), value, Fences.notRaised(fence))
        .whenComplete((ok, t) -> {
      createSentNanos = 0;
      if (t != null) {
        Throwable cause = Blocking.unwrap(t);
        if (retries(cause)) {
          cleanUpAndRetry(turn, cause, () -> createOrGet(turn));
        } else if (Outcomes.mayHaveApplied(cause)) {
          deleteUnknown(turn, cause);
        } else {
          turn.release();
          settled.complete(null);
          result.completeExceptionally(cause);
        }
        return;
      }
      unreachable = false;
      Contender me = new Contender(ok.key(), ok.createRevision());
      CompletableFuture<?> hook;
      try {
        hook = onKey == null ? CompletableFuture.completedFuture(null) : onKey.apply(ok);
      } catch (RuntimeException e) {
        hook = CompletableFuture.failedFuture(e);
      }
      hook.whenComplete((v, e) -> {
        if (e != null) {
          giveUp(me, turn, Blocking.unwrap(e));
        } else {
          contend(me, ok, turn);
        }
      });
    });
  }

  /** Creates {@code prefix/<nanos>} on our lease if missing (another name when taken), then contends. */
  private void createUnique(LocalTurns.Turn noTurn, int tries) {
    if (isAbandoned() || session.state() == SessionState.LOST) {
      settled.complete(null);
      if (!result.isDone()) {
        result.completeExceptionally(session.state() == SessionState.LOST ? session.lostCause()
            : new CancellationException("abandoned"));
      }
      return;
    }
    ByteSequence k = UniqueKey.next(prefix);
    synchronized (this) {
      key = k;
    }
    createSentNanos = System.nanoTime();
    session.client().kv().txn().when(io.etcdrecipes.client.Compare.version(k).equal(0), Fences.notRaised(fence))
        .then(io.etcdrecipes.client.Op.put(k, value, io.etcdrecipes.client.PutOption.lease(session.leaseId())))
        .commit().whenComplete((r, t) -> {
          createSentNanos = 0;
          if (t != null) {
            Throwable cause = Blocking.unwrap(t);
            if (retries(cause)) {
              cleanUpAndRetry(noTurn, cause, () -> createUnique(noTurn, tries));
            } else if (Outcomes.mayHaveApplied(cause)) {
              deleteUnknown(noTurn, cause);
            } else {
              settled.complete(null);
              result.completeExceptionally(cause);
            }
          } else if (!r.succeeded()) {
            unreachable = false;
            if (tries >= 100) {
              settled.complete(null);
              result.completeExceptionally(new IllegalStateException("no free unique key under " + prefix));
            } else {
              createUnique(noTurn, tries + 1);
            }
          } else {
            unreachable = false;
            contend(new Contender(k, r.header().revision()), null, noTurn);
          }
        });
  }

  private void contend(Contender me, OwnerKey ok, LocalTurns.Turn turn) {
    if (isAbandoned()) {
      giveUp(me, turn, new CancellationException("abandoned"));
      return;
    }
    if (ok != null && ok.isOldest() && session.isUsable(sessionPolicy)) {
      own(me, ok.header(), turn);
      return;
    }
    if (ok != null && mode == Mode.TRY) { // Go's TryLock: someone else owns, delete our key and report "locked"
      giveUp(me, turn, null);
      return;
    }
    Contention c = Contention.start(session.client().kv(), session.client().watch(), me, policy, session, sessionPolicy,
        mode == Mode.TRY);
    boolean closeNow;
    synchronized (this) {
      contention = c;
      closeNow = abandoned;
    }
    if (closeNow) {
      c.close();
    }
    c.future().whenComplete((header, e) -> {
      if (e != null) {
        giveUp(me, turn, Blocking.isCancellation(e) ? new CancellationException("abandoned") : Blocking.unwrap(e));
      } else if (header == null) { // TRY: not our turn
        giveUp(me, turn, null);
      } else if (touchAfterWait && header.revision() != me.createRevision()) {
        // anything written since our key could be a claimant that saw us waiting and now watches our key
        touch(me, header, turn);
      } else {
        own(me, header, turn);
      }
    });
  }

  /** Rewrites our key (guarded) so that whoever watches it for a change moves on; then owns. */
  private void touch(Contender me, ResponseHeader header, LocalTurns.Turn turn) {
    session.client().kv().txn().when(io.etcdrecipes.client.Compare.createRevision(me.key()).equal(me.createRevision()))
        .then(io.etcdrecipes.client.Op.put(me.key(), value, io.etcdrecipes.client.PutOption.lease(session.leaseId())))
        .commit().whenComplete((r, t) -> {
          if (t != null) {
            giveUp(me, turn, Blocking.unwrap(t));
          } else if (!r.succeeded()) {
            giveUp(me, turn, new OwnershipLostException(me.key(), me.createRevision(),
                OwnershipLostException.Reason.KEY_GONE, "the key vanished as it became the owner", null));
          } else {
            own(me, r.header(), turn);
          }
        });
  }

  private void own(Contender me, ResponseHeader header, LocalTurns.Turn turn) {
    Ownership o = Ownership.start(session, sessionPolicy, me, header.revision(),
        held -> KeyCleanup.releaseHeld(session.client().kv(), session, me, turn::release), releaseWhenLost);
    if (result.complete(o)) {
      settled.complete(null);
    } else { // abandoned meanwhile
      o.releaseAsync().whenComplete((b, e) -> settled.complete(null));
    }
  }

  /** Deletes our key (known revision) and frees the turn; then fails (or, with no cause, completes with null). */
  private void giveUp(Contender me, LocalTurns.Turn turn, Throwable cause) {
    KeyCleanup.deleteGuarded(session.client().kv(), session, me, turn::release).whenComplete((b, e) -> {
      if (e != null) {
        log.info("{}: could not delete it after giving up ({}); retrying in the background", me.key().toStringUtf8(),
            e.toString());
      }
      settled.complete(null);
      if (cause == null) {
        result.complete(null);
      } else {
        result.completeExceptionally(cause);
      }
    });
  }

  /**
   * The creating request failed with an unknown outcome: the key may exist, or be created later by the request still
   * in flight. Raise this attempt's fence first (a late apply then writes nothing), then delete the key — an owner key
   * whatever its revision (we hold its local turn: no other caller of this session uses it), a unique key if it is on
   * our lease.
   */
  private void deleteUnknown(LocalTurns.Turn turn, Throwable cause) {
    ByteSequence k = key();
    Fences.raiseAt(session.client().kv(), session, fence).thenCompose(at -> {
      if (!ownerKey) {
        return KeyCleanup.deleteIfOnLease(session.client().kv(), session, k, () -> { });
      }
      if (at == 0) { // the session is lost: its lease takes the key
        turn.release();
        return CompletableFuture.completedFuture(false);
      }
      // guarded by the fence's revision: a retried delete that applies late cannot take the next caller's key
      return KeyCleanup.deleteIfCreatedBy(session.client().kv(), session, k, at, turn::release);
    }).whenComplete((b, e) -> {
          settled.complete(null);
          result.completeExceptionally(cause);
        });
  }

  /** Whether a create that failed with {@code cause} is tried again (a waiting attempt, a transient failure). */
  private boolean retries(Throwable cause) {
    return mode == Mode.WAIT && Outcomes.isTransient(cause) && !isAbandoned() && !result.isDone()
        && session.state() != SessionState.LOST;
  }

  /**
   * A create failed transiently: it may have been applied, or be applied later. Raise its fence, delete the key
   * (keeping the local turn: this attempt goes on), and once that is done — so that no delete of ours is still in
   * flight when the next create lands — try again with a new fence after the backoff. {@code createAgain} checks for
   * an abandoned attempt or a lost session first, and settles then.
   */
  private void cleanUpAndRetry(LocalTurns.Turn turn, Throwable cause, Runnable createAgain) {
    unreachable = true;
    ByteSequence k = key();
    ByteSequence raised = fence;
    long delay;
    synchronized (this) {
      delay = retryMillis;
      retryMillis = Math.min(MAX_RETRY_MILLIS, retryMillis * 2);
    }
    log.debug("{}: create failed ({}); cleaning up and trying again in {} ms", this, cause.toString(), delay);
    // the delete is guarded by the fence's revision: retried after a lost answer it may apply late, and must then
    // not delete what the next create made
    Fences.raiseAt(session.client().kv(), session, raised)
        .thenCompose(at -> at == 0 ? CompletableFuture.completedFuture(null) // lost: the lease takes the key
            : KeyCleanup.untilGone(after -> KeyCleanup.deleteIfCreatedBy(session.client().kv(), session, k, at, after)))
        .whenComplete((v, e) -> {
          fence = Fences.newFence(session);
          try {
            SharedExecutors.timer().schedule(createAgain, delay, TimeUnit.MILLISECONDS);
          } catch (RuntimeException refused) { // shutting down: fail rather than hang
            if (ownerKey) {
              turn.release();
            }
            settled.complete(null);
            result.completeExceptionally(cause);
          }
        });
  }

  @Override
  public String toString() {
    ByteSequence k = key();
    return "Attempt{" + (k == null ? prefix.toStringUtf8() + "/?" : k.toStringUtf8()) + ", " + mode + "}";
  }
}
