package io.etcdrecipes.lock;

import io.etcdrecipes.recipes.Ownership;

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
 * hold (an {@link Ownership} and a count): the first {@code lock} of a thread acquires, its last {@code unlock}
 * releases, and only the holding thread may unlock. Whether two threads may hold at once is the lock's business (a
 * mutex excludes them, readers of a read-write lock share). A nested acquire of a hold that was lost throws
 * {@link io.etcdrecipes.recipes.OwnershipLostException} rather than pretend to hold.
 */
final class ThreadLock implements Lock {

  private final DistributedLock lock;
  private final Map<Thread, Hold> holds = new ConcurrentHashMap<>();

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
  }

  /**
   * Counts a nested acquire of a thread that holds already. A hold that was lost is not entered again: its key may be
   * gone (a lost ownership lets go by itself) and someone else may hold the lock now, so the nested acquire throws
   * {@link io.etcdrecipes.recipes.OwnershipLostException}; the count stays, the outer {@code unlock} still ends it.
   */
  private boolean reenter() {
    Hold h = holds.get(Thread.currentThread());
    if (h == null) {
      return false;
    }
    h.ownership.checkValid();
    h.count++;
    return true;
  }

  private void acquired(Ownership o) {
    holds.put(Thread.currentThread(), new Hold(o));
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

  @Override
  public void unlock() {
    Hold h = holds.get(Thread.currentThread());
    if (h == null) {
      throw new IllegalMonitorStateException("the current thread does not hold " + lock.name());
    }
    if (--h.count == 0) {
      holds.remove(Thread.currentThread());
      h.ownership.close();
    }
  }

  @Override
  public Condition newCondition() {
    throw new UnsupportedOperationException("a distributed lock has no conditions");
  }

  @Override
  public String toString() {
    return "Lock{" + lock.name() + ", held by " + holds.size() + " thread(s)}";
  }
}
