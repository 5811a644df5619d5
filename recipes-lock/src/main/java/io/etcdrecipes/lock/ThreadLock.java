package io.etcdrecipes.lock;

import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.OwnershipLostException;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;

/**
 * {@link DistributedLock#asLock()}: {@link Lock}'s thread semantics over a distributed lock. Each thread has its own
 * hold (an {@link Ownership} and a count) <b>per lock</b> — session and key prefix, whatever {@code Lock} object or
 * {@code Mutex} instance it goes through: the first {@code lock} of a thread acquires, its last {@code unlock}
 * releases, and only the holding thread may unlock. Whether two threads may hold at once is the lock's business (a
 * mutex excludes them, readers of a read-write lock share). A nested acquire of a hold that was lost throws
 * {@link OwnershipLostException} rather than pretend to hold, and so does the last {@code unlock} of a lost hold
 * (after ending it), as Spring's lock registries report a lock that expired under its holder.
 */
final class ThreadLock implements Lock {

  /** Every thread's holds of every lock in this JVM, by (lock identity, thread). */
  private static final Map<HoldKey, Hold> HOLDS = new ConcurrentHashMap<>();

  private final DistributedLock lock;
  private final Object identity;

  /** Compares by identity (a session is one lease: two sessions on one name are two contenders). */
  record SameObject(Object o) {
    @Override
    public boolean equals(Object other) {
      return other instanceof SameObject s && s.o == o;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(o);
    }
  }

  private record HoldKey(Object lock, SameObject thread) {
  }

  /** One thread's hold; only that thread touches its count. */
  private static final class Hold {
    final Ownership ownership;
    int count = 1;

    Hold(Ownership ownership) {
      this.ownership = ownership;
    }
  }

  ThreadLock(DistributedLock lock) {
    this.lock = lock;
    if (lock instanceof Mutex m) {
      this.identity = java.util.List.of(new SameObject(m.session()), "mutex", m.name());
    } else if (lock instanceof UniqueKeyLock u) {
      this.identity = u.holdIdentity();
    } else { // a lock of the user's own: the object is the lock
      this.identity = new SameObject(lock);
    }
  }

  private HoldKey mine() {
    return new HoldKey(identity, new SameObject(Thread.currentThread()));
  }

  /**
   * Counts a nested acquire of a thread that holds already. A hold that was lost is not entered again: its key may be
   * gone (a lost ownership lets go by itself) and someone else may hold the lock now, so the nested acquire throws
   * {@link io.etcdrecipes.recipes.OwnershipLostException}; the count stays, the outer {@code unlock} still ends it.
   */
  private boolean reenter() {
    Hold h = HOLDS.get(mine());
    if (h == null) {
      return false;
    }
    h.ownership.checkValid();
    h.count++;
    return true;
  }

  private void acquired(Ownership o) {
    HOLDS.put(mine(), new Hold(o));
  }

  /** Not interruptible (as {@link Lock#lock()}): an interrupt while waiting is kept and set again once held. */
  @Override
  public void lock() {
    if (reenter()) {
      return;
    }
    boolean interrupted = false;
    try {
      while (true) {
        try {
          acquired(lock.lock());
          return;
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void lockInterruptibly() throws InterruptedException {
    if (Thread.interrupted()) {
      throw new InterruptedException();
    }
    if (!reenter()) {
      acquired(lock.lock());
    }
  }

  @Override
  public boolean tryLock() {
    if (reenter()) {
      return true;
    }
    Optional<Ownership> o = lock.tryLock();
    o.ifPresent(this::acquired);
    return o.isPresent();
  }

  @Override
  public boolean tryLock(long time, TimeUnit unit) throws InterruptedException {
    if (reenter()) {
      return true;
    }
    if (time <= 0) {
      return tryLock();
    }
    try {
      acquired(lock.lock(Duration.ofNanos(unit.toNanos(time))));
      return true;
    } catch (TimeoutException e) {
      return false;
    }
  }

  /**
   * Counts one hold down; the last ends it. {@link OwnershipLostException} when that last unlock ends a hold that was
   * lost meanwhile (its session lost or suspended, its key deleted): the hold is over all the same, but what it
   * guarded may have run while someone else held the lock.
   */
  @Override
  public void unlock() {
    HoldKey key = mine();
    Hold h = HOLDS.get(key);
    if (h == null) {
      throw new IllegalMonitorStateException("the current thread does not hold " + lock.name());
    }
    if (--h.count == 0) {
      HOLDS.remove(key);
      OwnershipLostException lost = lostCause(h.ownership);
      h.ownership.close();
      if (lost != null) {
        throw lost;
      }
    }
  }

  private static OwnershipLostException lostCause(Ownership o) {
    try {
      return o.lost().getNow(null);
    } catch (RuntimeException released) { // cancelled: released, not lost
      return null;
    }
  }

  @Override
  public Condition newCondition() {
    throw new UnsupportedOperationException("a distributed lock has no conditions");
  }

  @Override
  public String toString() {
    long threads = HOLDS.keySet().stream().filter(k -> k.lock().equals(identity)).count();
    return "Lock{" + lock.name() + ", held by " + threads + " thread(s)}";
  }
}
