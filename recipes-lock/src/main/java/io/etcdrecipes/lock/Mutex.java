package io.etcdrecipes.lock;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.recipes.ContentionPolicy;
import io.etcdrecipes.recipes.Keys;
import io.etcdrecipes.recipes.Attempt;
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
 * {@link java.util.concurrent.locks.Lock}'s thread semantics on top (reentrant per thread).
 *
 * <p>Thread-safe and cheap: holds no resources of its own; create one per name and share it.
 */
public final class Mutex implements DistributedLock {

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

  @Override
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
  @Override
  public Ownership lock(Duration timeout) throws InterruptedException, TimeoutException {
    Blocking.checkTimeout(timeout, "timeout");
    return attempt(Attempt.Mode.WAIT).await(timeout);
  }

  /** Waits for the lock until it is held or the thread is interrupted (the attempt's key deleted first). */
  @Override
  public Ownership lock() throws InterruptedException {
    return attempt(Attempt.Mode.WAIT).await();
  }

  /** The lock as a future; cancelling it gives the attempt up (its key deleted). */
  @Override
  public CompletableFuture<Ownership> lockAsync() {
    return Locks.async(attempt(Attempt.Mode.WAIT));
  }

  /**
   * The lock if nobody else holds it (here or in any process), else empty — one round trip, no waiting (Go's
   * {@code TryLock}: when another key is older, ours is deleted again). Empty also while another thread of this
   * JVM holds or waits for it on the same session.
   */
  @Override
  public Optional<Ownership> tryLock() {
    return Locks.tryNow(attempt(Attempt.Mode.TRY), session, name);
  }

  private Attempt attempt(Attempt.Mode mode) {
    return Attempt.ownerKey(session, prefix, ByteSequence.EMPTY, queue, policy, mode, null);
  }

  @Override
  public String toString() {
    return "Mutex{" + name + ", lease=" + Long.toHexString(session.leaseId()) + ", " + policy + "}";
  }
}
