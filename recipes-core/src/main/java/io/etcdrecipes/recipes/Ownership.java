package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.Txn;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.OwnerKeyWatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * What a holder holds: a lock, a semaphore permit, a leadership term. The handle is the ownership (any thread may
 * use or close it); closing it releases. It carries the <b>fencing token</b> (the key's create revision: strictly
 * larger for every later owner) and a <b>guard</b> (a compare that fails once the key is gone, even if it is
 * created again), and it says when it is <b>lost</b>: when its session is {@code LOST}, or {@code SUSPENDED} under
 * {@link SessionPolicy#SUSPENDED_IS_LOST} (the default of every recipe) — before the server can have expired the
 * lease, so a holder that stops on {@link #lost()} stops before anyone else can own — and when its key is deleted by
 * anyone else (an operator's {@code etcdctl del}, a cleanup job): one watch per ownership on the client's shared watch
 * stream tells it, as {@link OwnershipLostException.Reason#KEY_GONE}, within the watch's delivery delay (well under a
 * second).
 *
 * <pre>{@code
 * try (Ownership held = mutex.lock(Duration.ofSeconds(5))) {
 *   held.commit(client.kv(), Op.put(key, value)).join();   // rejected with OwnershipLostException once lost
 *   long token = held.fencingToken();                      // hand it to a resource that checks it
 * }                                                        // released: the key is deleted
 * }</pre>
 *
 * <p><b>A lost ownership lets go by itself</b> (recipes' default): once its session is connected again after the
 * suspension that lost it, or at once when the session is lost, its key is deleted (guarded) and whatever the recipe
 * holds for it is freed, so the others need not wait for the holder to close it; {@link #release()} then returns
 * {@code false}. Close it anyway.
 *
 * <p>A paused holder (GC, SIGSTOP) cannot be told anything while it is paused: after the pause its
 * {@link #isValid()} is false at once (the session checks its TTL clock when read), and the guard makes every write
 * in its name fail on the server; a resource outside etcd must check the fencing token itself. Thread-safe.
 */
public final class Ownership implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Ownership.class);

  /** How the recipe lets go: deletes its key (guarded), then frees what else it holds; true if the key was deleted. */
  @FunctionalInterface
  public interface Releaser {
    CompletableFuture<Boolean> release(Ownership ownership);
  }

  private final Session session;
  private final SessionPolicy policy;
  private final Contender contender;
  private final long acquiredRevision;
  private final Releaser releaser;
  private final Executor executor;
  private final CompletableFuture<OwnershipLostException> lost = new CompletableFuture<>();
  private final boolean releaseWhenLost;
  private final Registration sessionListener;
  private volatile OwnerKeyWatch keyWatch;
  private volatile java.util.concurrent.ScheduledFuture<?> keyWatchStart;
  /**
   * A hold watches its key only once it has lasted this long: most holds are shorter, and a watch created and
   * cancelled per hold costs a lock cycle about half its client CPU (docs/benchmarks.md). Nothing is missed: the watch
   * starts from the revision the hold began at, so a delete in the meantime is delivered at once.
   */
  static final long KEY_WATCH_DELAY_MILLIS = 200;
  private CompletableFuture<Boolean> releasing; // guarded by this
  private final java.util.List<LostListener> lostListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** Completes once the {@code onLost} listeners registered before the loss have returned. */
  private final CompletableFuture<Void> lostHeard = new CompletableFuture<>();

  /** One {@code onLost} registration; called at most once. */
  private final class LostListener implements Registration {
    final Consumer<OwnershipLostException> listener;
    final java.util.concurrent.atomic.AtomicBoolean fired = new java.util.concurrent.atomic.AtomicBoolean();

    LostListener(Consumer<OwnershipLostException> listener) {
      this.listener = listener;
    }

    void fire(OwnershipLostException e) {
      if (fired.compareAndSet(false, true) && lostListeners.contains(this)) {
        try {
          listener.accept(e);
        } catch (RuntimeException ex) {
          log.warn("onLost listener of {} threw", key().toStringUtf8(), ex);
        }
      }
    }

    @Override
    public void close() { // detaches it: nothing of the listener stays attached to the ownership
      lostListeners.remove(this);
    }
  }

  private Ownership(Session session, SessionPolicy policy, Contender contender, long acquiredRevision,
                    Releaser releaser, boolean releaseWhenLost, boolean watchKey) {
    this.session = session;
    this.releaseWhenLost = releaseWhenLost;
    this.policy = policy;
    this.contender = contender;
    this.acquiredRevision = acquiredRevision;
    this.releaser = releaser;
    this.executor = session.callbackExecutor(); // the session's executor when its builder gave one
    lost.thenAcceptAsync(e -> { // one task, in registration order; then a lost hold may let go of its key
      try {
        for (LostListener l : lostListeners) {
          l.fire(e);
        }
      } finally {
        lostHeard.complete(null);
      }
    }, executor);
    this.sessionListener = session.addListener((s, state) -> checkSession(state));
    checkSession(session.state());
    if (watchKey && !isOver()) {
      try {
        keyWatchStart = io.etcdrecipes.recipes.internal.SharedExecutors.timer().schedule(this::watchKey,
            KEY_WATCH_DELAY_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
      } catch (RuntimeException e) { // the timer refused (shutting down): watch now
        watchKey();
      }
      if (isOver()) {
        stopWatchingKey();
      }
    }
  }

  private void watchKey() {
    if (isOver()) {
      return;
    }
    keyWatch = OwnerKeyWatch.start(session, contender.key(), contender.createRevision(), acquiredRevision,
        this::keyDeleted);
    if (isOver()) { // released or lost meanwhile: whoever ended it may have looked before the watch was set
      keyWatch.close();
    }
  }

  /**
   * For recipes: {@code contender} owns on behalf of {@code session} as of {@code acquiredRevision}; losing the
   * session (as {@code policy} counts it) loses it, and {@code releaser} lets go.
   */
  public static Ownership start(Session session, SessionPolicy policy, Contender contender, long acquiredRevision,
                                Releaser releaser) {
    return start(session, policy, contender, acquiredRevision, releaser, true);
  }

  /**
   * As above; with {@code releaseWhenLost} false, a lost ownership keeps its key until it is released explicitly (for
   * a recipe that releases it itself once its owner stopped, as {@code LeaderLatch} does after {@code notLeader}).
   */
  public static Ownership start(Session session, SessionPolicy policy, Contender contender, long acquiredRevision,
                                Releaser releaser, boolean releaseWhenLost) {
    return new Ownership(Objects.requireNonNull(session, "session"), Objects.requireNonNull(policy, "policy"),
        Objects.requireNonNull(contender, "contender"), acquiredRevision, Objects.requireNonNull(releaser, "releaser"),
        releaseWhenLost, true);
  }

  /**
   * As {@link #start(Session, SessionPolicy, Contender, long, Releaser)}, without watching the key: for a recipe that
   * deletes the key itself as part of its work (a reliable queue's ack deletes the claim with the item), where a
   * delete is no loss.
   */
  public static Ownership startUnwatched(Session session, SessionPolicy policy, Contender contender,
                                         long acquiredRevision, Releaser releaser) {
    return new Ownership(Objects.requireNonNull(session, "session"), Objects.requireNonNull(policy, "policy"),
        Objects.requireNonNull(contender, "contender"), acquiredRevision, Objects.requireNonNull(releaser, "releaser"),
        true, false);
  }

  /** The key that stands for this ownership. */
  public ByteSequence key() {
    return contender.key();
  }

  /** The fencing token: the key's create revision, strictly larger for every later owner of the same thing. */
  public long fencingToken() {
    return contender.createRevision();
  }

  /** The compare that holds while this ownership's key exists with its create revision. */
  public Guard guard() {
    return contender.guard();
  }

  /** The revision at which ownership was established (the acquiring read's or transaction's). */
  public long acquiredRevision() {
    return acquiredRevision;
  }

  public Session session() {
    return session;
  }

  /** Held, as far as this process can know: not released, not lost, and the session usable now. */
  public boolean isValid() {
    checkSession(session.state());
    synchronized (this) {
      return releasing == null && !lost.isDone();
    }
  }

  /** Throws {@link OwnershipLostException} unless {@link #isValid()}. */
  public void checkValid() {
    if (!isValid()) {
      throw lostOrReleased();
    }
  }

  /**
   * Completes with why it was lost, once it is (session {@code LOST}, or {@code SUSPENDED} under the default policy;
   * the key deleted by anyone else, as its watch tells; a guarded write rejected by the server). Cancelled when it is
   * released first: it can no longer be lost.
   */
  public CompletableFuture<OwnershipLostException> lost() {
    return lost.thenApply(e -> e);
  }

  /**
   * Calls {@code listener} once when this is lost (on the session's executor, else the client's callback executor; at
   * once if it already is).
   * Closing the registration, or releasing, stops it.
   */
  public Registration onLost(Consumer<OwnershipLostException> listener) {
    LostListener l = new LostListener(Objects.requireNonNull(listener, "listener"));
    lostListeners.add(l);
    if (lost.isDone() && !lost.isCompletedExceptionally()) { // lost already: the loss's own dispatch may have missed it
      OwnershipLostException e = lost.join();
      executor.execute(() -> l.fire(e));
    }
    return l; // closing it never waits for the listener (no lock is shared with the call)
  }

  /**
   * A transaction guarded by this ownership's key and {@code more}: it fails ({@code succeeded() == false}) once the key
   * is gone, even if it was created again. A loss this process was told of (a suspended session) does not fail it by
   * itself while the key still exists — nobody else can own until it is gone; {@link #commit} refuses to send then.
   */
  public Txn txn(KV kv, Compare... more) {
    return contender.guard().txn(kv, more);
  }

  /**
   * Commits {@code ops} guarded by this ownership. Fails with {@link OwnershipLostException} without sending
   * anything when it is known lost or released, and when the server rejected the guard (nothing was written).
   */
  public CompletableFuture<TxnResponse> commit(KV kv, Op... ops) {
    if (!isValid()) {
      return CompletableFuture.failedFuture(lostOrReleased());
    }
    return txn(kv).then(ops).commit().thenApply(r -> {
      if (!r.succeeded()) {
        markLost(OwnershipLostException.Reason.KEY_GONE, "a guarded write was rejected: the key is gone", null);
        throw lostOrReleased();
      }
      return r;
    });
  }

  /**
   * Releases: deletes the key (guarded by its create revision) and frees whatever else the recipe holds for it.
   * Returns {@code true} when it was held (not lost) and the key was deleted by this call; {@code false} when it
   * had been lost (the key is deleted anyway if it is still there) or was released before. Bounded by the client's
   * call timeout; an {@link EtcdException} when the key could not be deleted (the recipe keeps trying in the
   * background while the session lives, and the lease deletes it at the latest when the session ends).
   */
  public boolean release() {
    CompletableFuture<Boolean> f = releaseAsync();
    Duration bound = session.client().config().callTimeout().plusSeconds(1);
    try {
      return Blocking.await(f, bound);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new EtcdException(io.etcdrecipes.client.ErrorCode.CANCELLED,
          "interrupted while releasing " + key().toStringUtf8() + " (the release goes on)", e);
    } catch (TimeoutException e) {
      throw new EtcdException(io.etcdrecipes.client.ErrorCode.DEADLINE_EXCEEDED,
          "release of " + key().toStringUtf8() + " not done in " + bound + " (it goes on in the background)", e);
    }
  }

  /** {@link #release()} without blocking. Idempotent: every call returns the first call's future. */
  public CompletableFuture<Boolean> releaseAsync() {
    boolean wasHeld;
    CompletableFuture<Boolean> f;
    synchronized (this) {
      if (releasing != null) {
        return releasing.thenApply(b -> false);
      }
      wasHeld = !lost.isDone();
      f = releasing = new CompletableFuture<>();
    }
    Registration listening = sessionListener;
    if (listening != null) { // null only when released from a session callback that ran before the constructor ended
      listening.close();
    }
    stopWatchingKey();
    lost.cancel(false);
    if (wasHeld) { // released before any loss: it can no longer be lost, nothing of the listeners stays attached
      lostListeners.clear(); // (after a loss they still have to hear of it: the loss's dispatch may not have run yet)
    }
    CompletableFuture<Boolean> r;
    try {
      r = releaser.release(this);
    } catch (RuntimeException e) {
      r = CompletableFuture.failedFuture(e);
    }
    r.whenComplete((deleted, t) -> {
      if (t != null) {
        f.completeExceptionally(Blocking.unwrap(t));
      } else {
        f.complete(wasHeld && deleted);
      }
    });
    return f.thenApply(b -> b);
  }

  /** {@link #release()} that never throws (a failure is logged; the recipe goes on trying in the background). */
  @Override
  public void close() {
    try {
      release();
    } catch (RuntimeException e) {
      log.warn("releasing {}: {}", key().toStringUtf8(), e.toString());
    }
  }

  @Override
  public String toString() {
    return "Ownership{" + key().toStringUtf8() + ", token=" + fencingToken() + (isValid() ? "" : ", not valid") + "}";
  }

  private void checkSession(SessionState state) {
    if (policy.isUsable(state)) {
      if (releaseWhenLost && lost.isDone() && !lost.isCancelled()) {
        // lost while suspended, connected again: let the others in — once the holder was told (its onLost
        // listeners returned), so that nobody else can start before it stopped; but not later than a TTL from now,
        // as if the holder had died (a listener that never returns must not keep the key for the session's life)
        lostHeard.copy().completeOnTimeout(null, session.ttl().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
            .thenRun(this::releaseAsync);
      }
      return;
    }
    if (state == SessionState.LOST) {
      SessionLostException cause = session.lostCause();
      markLost(OwnershipLostException.Reason.SESSION_LOST, "the session is lost"
          + (cause == null ? "" : ": " + cause.getMessage()), cause);
      // the lease takes the key; this frees what else the recipe holds for it (a local turn). After orphan() the
      // release deletes nothing: the keys are left for whoever resumes the lease (KeyCleanup)
      if (releaseWhenLost) {
        releaseAsync();
      }
    } else {
      markLost(OwnershipLostException.Reason.SESSION_SUSPENDED,
          "the session is " + state + " and the policy is " + policy, null);
    }
  }

  private void markLost(OwnershipLostException.Reason reason, String message, Throwable cause) {
    synchronized (this) {
      if (releasing != null || lost.isDone()) {
        return;
      }
    }
    lost.complete(new OwnershipLostException(contender.key(), contender.createRevision(), reason, message, cause));
    // after the loss is visible: a constructor that set the watch after this read sees isOver() and closes it
    stopWatchingKey(); // lost: a later delete of the key changes nothing
  }

  private synchronized boolean isOver() {
    return releasing != null || lost.isDone();
  }

  private void stopWatchingKey() {
    java.util.concurrent.ScheduledFuture<?> pending = keyWatchStart;
    if (pending != null) {
      pending.cancel(false);
    }
    OwnerKeyWatch w = keyWatch;
    if (w != null) {
      w.close();
    }
  }

  /** How long a deleted key waits for the server to say whether the lease went with it. */
  private static final Duration LEASE_CHECK_TIMEOUT = Duration.ofMillis(500);

  /**
   * Our key was deleted, not by us. The lease is asked for first, briefly ({@link #LEASE_CHECK_TIMEOUT}): when it is
   * gone too (revoked, expired: it took the key), the session is marked {@code LOST} now rather than at its next
   * keep-alive, and that loss ends this ({@code SESSION_LOST}); else — alive, or no answer in time — the ownership is
   * lost as {@code KEY_GONE} and, as a lost ownership does, lets go of what the recipe holds for it (the key is gone
   * already), so a next owner creates the key anew with a new token.
   */
  private void keyDeleted(long revision) {
    checkSession(session.state());
    if (isOver()) {
      return;
    }
    session.client().lease().withTimeout(LEASE_CHECK_TIMEOUT).timeToLive(session.leaseId(), false)
        .whenCompleteAsync((ttl, t) -> {
          if (t == null && ttl.ttl() < 0) { // -1: no such lease
            session.leaseFoundGone("the server says the lease does not exist (" + key().toStringUtf8()
                + " was deleted with it at revision " + revision + ")");
            checkSession(session.state());
          }
          markLost(OwnershipLostException.Reason.KEY_GONE,
              "the key was deleted by someone else at revision " + revision, null); // no-op once lost otherwise
          if (releaseWhenLost) {
            releaseAsync();
          }
        }, executor);
  }

  private OwnershipLostException lostOrReleased() {
    OwnershipLostException e = lost.isCompletedExceptionally() ? null : lost.getNow(null);
    if (e != null) {
      return e;
    }
    return new OwnershipLostException(contender.key(), contender.createRevision(), OwnershipLostException.Reason.RELEASED,
        "it was released", null);
  }
}
