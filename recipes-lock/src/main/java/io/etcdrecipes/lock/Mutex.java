package io.etcdrecipes.lock;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.recipes.ContentionPolicy;
import io.etcdrecipes.recipes.Keys;
import io.etcdrecipes.recipes.OwnerKeyAttempt;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionPolicy;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.Names;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Lock;

/**
 * A distributed mutex, byte-compatible with Go's {@code concurrency.Mutex} and {@code etcdctl lock}: the holder's key
 * is {@code name/<hex lease>} on its session's lease, contenders queue by create revision, each waits for the delete
 * of the one right ahead of it only, and the oldest holds. Java and Go processes exclude each other.
 *
 * <pre>{@code
 * Mutex mutex = Mutex.create(session, "jobs/nightly-report");
 * try (Ownership lock = mutex.lock(Duration.ofSeconds(10))) {   // TimeoutException: nothing left behind
 *   lock.commit(client.kv(), Op.put(ByteSequence.of("reports/last"), value)).join(); // fenced write
 *   lock.lost().thenAccept(e -> stopWork());                     // session lost or suspended
 * }
 * }</pre>
 *
 * <p>Forms: {@link #lock(Duration)} ({@link TimeoutException}), {@link #lock()} (interruptible),
 * {@link #lockAsync()} (a future; cancelling it gives up), {@link #tryLock()} (one round trip, never waits). A
 * failed, timed-out, interrupted or cancelled attempt deletes its key before it returns — also after an RPC whose
 * outcome is unknown. The {@link Ownership} it returns is the lock: its fencing token, its guard, its
 * {@code lost()}; closing it unlocks, from any thread.
 *
 * <p><b>Threads of one JVM.</b> Every caller on one session has the same key (Go's layout), so callers on one
 * session queue locally (fair) behind whoever holds or attempts the key, and then contend in etcd like any other
 * process: two threads sharing a session and a name never both hold it. {@link #asLock()} adds
 * {@link java.util.concurrent.locks.Lock}'s thread semantics on top.
 *
 * <p>Thread-safe and cheap: holds no resources of its own; create one per name and share it.
 */
public final class Mutex {

  private final Session session;
  private final String name;
  private final ByteSequence prefix;
  private final SessionPolicy policy;
  private final ContentionPolicy queue;

  private Mutex(Session session, String name, SessionPolicy policy) {
    this.session = Objects.requireNonNull(session, "session");
    this.prefix = Names.prefix(name, "name");
    this.name = name;
    this.policy = Objects.requireNonNull(policy, "policy");
    this.queue = ContentionPolicy.oldestOwns(Keys.ownerPrefix(prefix));
  }

  /** A mutex named {@code name} (Go's prefix: keys are {@code name/<hex lease>}), lost when the session is suspended. */
  public static Mutex create(Session session, String name) {
    return new Mutex(session, name, SessionPolicy.SUSPENDED_IS_LOST);
  }

  /** A mutex whose holder counts as lost only as {@code policy} says ({@link SessionPolicy#ONLY_LOST} rides out suspensions). */
  public static Mutex create(Session session, String name, SessionPolicy policy) {
    return new Mutex(session, name, policy);
  }

  public String name() {
    return name;
  }

  public Session session() {
    return session;
  }

  /** This session's key for this mutex: {@code name/<hex lease>}. */
  public ByteSequence key() {
    return Keys.ownerKey(prefix, session.leaseId());
  }

  /**
   * Waits at most {@code timeout} for the lock. On {@link TimeoutException} (or interrupt) the attempt's key is
   * deleted before this returns. Fails with {@link io.etcdrecipes.recipes.SessionLostException} when the session
   * is lost (at once, nothing written, when it already is).
   */
  public Ownership lock(Duration timeout) throws InterruptedException, TimeoutException {
    Blocking.checkTimeout(timeout, "timeout");
    return attempt(OwnerKeyAttempt.Mode.WAIT).await(timeout);
  }

  /** Waits for the lock until it is held or the thread is interrupted (the attempt's key deleted first). */
  public Ownership lock() throws InterruptedException {
    return attempt(OwnerKeyAttempt.Mode.WAIT).await();
  }

  /** The lock as a future; cancelling it gives the attempt up (its key deleted). */
  public CompletableFuture<Ownership> lockAsync() {
    OwnerKeyAttempt a = attempt(OwnerKeyAttempt.Mode.WAIT);
    CompletableFuture<Ownership> f = new CompletableFuture<>();
    a.result().whenComplete((o, e) -> {
      if (e != null) {
        f.completeExceptionally(Blocking.unwrap(e));
      } else if (!f.complete(o)) {
        o.releaseAsync();
      }
    });
    f.whenComplete((o, e) -> {
      if (f.isCancelled()) {
        a.abandon();
      }
    });
    return f;
  }

  /**
   * The lock if nobody else holds it (here or in any process), else empty — one round trip, no waiting (Go's
   * {@code TryLock}: when another key is older, ours is deleted again). Empty also while another thread of this
   * JVM holds or waits for it on the same session.
   */
  public Optional<Ownership> tryLock() {
    OwnerKeyAttempt a = attempt(OwnerKeyAttempt.Mode.TRY);
    try {
      return Optional.ofNullable(a.await(session.client().config().callTimeout().multipliedBy(2)));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new io.etcdrecipes.client.CancelledException(io.etcdrecipes.client.ErrorCode.CANCELLED,
          "interrupted in tryLock of " + name, null, e);
    } catch (TimeoutException e) {
      throw new io.etcdrecipes.client.DeadlineExceededException(io.etcdrecipes.client.ErrorCode.DEADLINE_EXCEEDED,
          "tryLock of " + name + " got no answer in time", null, e);
    }
  }

  /**
   * This mutex as a {@link Lock}: reentrant for the holding thread (like {@code ReentrantLock}), unlocked by that
   * thread only ({@link IllegalMonitorStateException} otherwise); {@code newCondition} is not supported. It hides
   * the {@link Ownership}: use the handle API where writes must be fenced or loss noticed.
   */
  public Lock asLock() {
    return new MutexLock(this);
  }

  private OwnerKeyAttempt attempt(OwnerKeyAttempt.Mode mode) {
    return OwnerKeyAttempt.start(session, prefix, ByteSequence.EMPTY, queue, policy, mode, null);
  }

  @Override
  public String toString() {
    return "Mutex{" + name + ", lease=" + Long.toHexString(session.leaseId()) + ", " + policy + "}";
  }
}
