package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.ResponseHeader;
import io.etcdrecipes.recipes.internal.Blocking;
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
 * One attempt to own a session's owner key under a prefix — the key Go's {@code Mutex} and {@code Election} use,
 * {@code prefix/<hex lease>} — from start to an {@link Ownership}, or to a failure that leaves nothing behind.
 *
 * <ol>
 *   <li>A local turn on the key (fair, per session): threads of one JVM that share a session queue here, because
 *       they would otherwise share the one key and all "own".</li>
 *   <li>Go's create-or-get transaction, which also reads the oldest contender (uncontended: one round trip).</li>
 *   <li>Unless oldest, the {@link Contention} wait (the youngest older key, from the read's revision + 1), with the
 *       check that our key still exists with our create revision, and never owning while the session is not
 *       usable under the policy.</li>
 * </ol>
 * A failed, timed-out, interrupted or abandoned attempt deletes its key — also when the create-or-get failed with
 * an unknown outcome (the key name is deterministic: it is deleted whatever its revision, and checked again once
 * the call timeout has passed, in case the lost request was applied late) — and only then frees the local turn.
 */
public final class OwnerKeyAttempt {

  private static final Logger log = LoggerFactory.getLogger(OwnerKeyAttempt.class);

  /** Whether the attempt waits for its turn or gives up at once when someone else owns. */
  public enum Mode { WAIT, TRY }

  private final Session session;
  private final ByteSequence prefix;
  private final ByteSequence key;
  private final ByteSequence value;
  private final ContentionPolicy policy;
  private final SessionPolicy sessionPolicy;
  private final Mode mode;
  private final Function<OwnerKey, CompletableFuture<?>> onKey;
  private final CompletableFuture<Ownership> result = new CompletableFuture<>();
  /** Completes once nothing of this attempt is left in etcd (or owned). */
  private final CompletableFuture<Void> settled = new CompletableFuture<>();

  // guarded by this
  private boolean abandoned;
  private CompletableFuture<LocalTurns.Turn> turnFuture;
  private Contention contention;

  private OwnerKeyAttempt(Session session, ByteSequence prefix, ByteSequence value, ContentionPolicy policy,
                          SessionPolicy sessionPolicy, Mode mode, Function<OwnerKey, CompletableFuture<?>> onKey) {
    this.session = Objects.requireNonNull(session, "session");
    this.prefix = Objects.requireNonNull(prefix, "prefix");
    this.key = Keys.ownerKey(prefix, session.leaseId());
    this.value = Objects.requireNonNull(value, "value");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.sessionPolicy = Objects.requireNonNull(sessionPolicy, "sessionPolicy");
    this.mode = Objects.requireNonNull(mode, "mode");
    this.onKey = onKey;
  }

  /**
   * Starts an attempt. {@code onKey}, when given, runs after the create-or-get and before any wait (an election
   * proclaims there when the key existed with another value); its failure fails the attempt. Throws
   * {@link SessionLostException} at once, with nothing written, when the session is lost.
   */
  public static OwnerKeyAttempt start(Session session, ByteSequence prefix, ByteSequence value, ContentionPolicy policy,
                                      SessionPolicy sessionPolicy, Mode mode,
                                      Function<OwnerKey, CompletableFuture<?>> onKey) {
    OwnerKeyAttempt a = new OwnerKeyAttempt(session, prefix, value, policy, sessionPolicy, mode, onKey);
    SessionLostException lost = session.lostCause();
    if (lost != null) {
      throw lost;
    }
    a.begin();
    return a;
  }

  /** The key this attempt contends with. */
  public ByteSequence key() {
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
          "the attempt on " + key.toStringUtf8() + " was abandoned", null, e);
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
          "the attempt on " + key.toStringUtf8() + " was abandoned", null, e);
    }
  }

  private void awaitAbandon() {
    boolean interrupted = Thread.interrupted();
    try {
      abandon().get(session.client().config().callTimeout().toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      interrupted = true;
    } catch (Exception e) {
      log.debug("{}: cleanup after giving up goes on in the background: {}", key.toStringUtf8(), e.toString());
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  private void begin() {
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
    Keys.createOrGet(session.client().kv(), prefix, session.leaseId(), value).whenComplete((ok, t) -> {
      if (t != null) {
        Throwable cause = Blocking.unwrap(t);
        if (Outcomes.mayHaveApplied(cause)) {
          deleteUnknown(turn, cause);
        } else {
          turn.release();
          settled.complete(null);
          result.completeExceptionally(cause);
        }
        return;
      }
      Contender me = new Contender(ok.key(), ok.createRevision());
      CompletableFuture<?> hook = onKey == null ? CompletableFuture.completedFuture(null) : onKey.apply(ok);
      hook.whenComplete((v, e) -> {
        if (e != null) {
          giveUp(me, turn, Blocking.unwrap(e));
        } else {
          contend(me, ok, turn);
        }
      });
    });
  }

  private void contend(Contender me, OwnerKey ok, LocalTurns.Turn turn) {
    if (isAbandoned()) {
      giveUp(me, turn, new CancellationException("abandoned"));
      return;
    }
    if (ok.isOldest() && session.isUsable(sessionPolicy)) {
      own(me, ok.header(), turn);
      return;
    }
    if (mode == Mode.TRY) { // Go's TryLock: someone else owns, delete our key and report "locked"
      giveUp(me, turn, null);
      return;
    }
    Contention c = Contention.start(session.client().kv(), session.client().watch(), me, policy, session, sessionPolicy);
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
      } else {
        own(me, header, turn);
      }
    });
  }

  private void own(Contender me, ResponseHeader header, LocalTurns.Turn turn) {
    Ownership o = Ownership.start(session, sessionPolicy, me, header.revision(),
        held -> KeyCleanup.deleteGuarded(session.client().kv(), session, me, turn::release));
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
        log.info("{}: could not delete it after giving up ({}); retrying in the background", key.toStringUtf8(),
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
   * The create-or-get failed with an unknown outcome: the key may exist, or be created later by the request still
   * in flight. Delete it whatever its revision (we hold the local turn: no other caller of this session uses it),
   * and look again once the call timeout has passed.
   */
  private void deleteUnknown(LocalTurns.Turn turn, Throwable cause) {
    KeyCleanup.deleteAny(session.client().kv(), session, key, () -> {
      turn.release();
      sweepLater();
    }).whenComplete((b, e) -> {
      settled.complete(null);
      result.completeExceptionally(cause);
    });
  }

  private void sweepLater() {
    long delay = session.client().config().callTimeout().toMillis() + 1_000;
    SharedExecutors.timer().schedule(() -> {
      if (session.state() == SessionState.LOST) {
        return;
      }
      LocalTurns.acquire(session, key).thenAccept(turn -> session.client().kv().get(key).whenComplete((r, e) -> {
        if (e != null || r.isEmpty()) {
          turn.release();
          return;
        }
        log.info("{}: a create-or-get whose outcome was unknown was applied late; deleting its key", key.toStringUtf8());
        KeyCleanup.deleteGuarded(session.client().kv(), session, new Contender(key, r.first().createRevision()),
            turn::release);
      }));
    }, delay, TimeUnit.MILLISECONDS);
  }

  @Override
  public String toString() {
    return "OwnerKeyAttempt{" + key.toStringUtf8() + ", " + mode + "}";
  }
}
