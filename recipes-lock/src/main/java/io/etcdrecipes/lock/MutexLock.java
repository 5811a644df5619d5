package io.etcdrecipes.lock;

import io.etcdrecipes.recipes.Ownership;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;

/**
 * {@link Mutex#asLock()}: {@link Lock}'s thread semantics over a {@link Mutex}. Reentrant for the holding thread (a
 * hold count, as {@code ReentrantLock}); only that thread may unlock. The first {@code lock} acquires the mutex, the
 * last {@code unlock} releases it.
 */
final class MutexLock implements Lock {

  private final Mutex mutex;
  // guarded by this
  private Thread owner;
  private int holds;
  private Ownership held;

  MutexLock(Mutex mutex) {
    this.mutex = mutex;
  }

  /** Whether the current thread holds it already; if so, one more hold. */
  private synchronized boolean reenter() {
    if (owner == Thread.currentThread()) {
      holds++;
      return true;
    }
    return false;
  }

  private synchronized void acquired(Ownership o) {
    owner = Thread.currentThread();
    holds = 1;
    held = o;
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
          acquired(mutex.lock());
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
      acquired(mutex.lock());
    }
  }

  @Override
  public boolean tryLock() {
    if (reenter()) {
      return true;
    }
    Optional<Ownership> o = mutex.tryLock();
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
      acquired(mutex.lock(Duration.ofNanos(unit.toNanos(time))));
      return true;
    } catch (TimeoutException e) {
      return false;
    }
  }

  @Override
  public void unlock() {
    Ownership release;
    synchronized (this) {
      if (owner != Thread.currentThread()) {
        throw new IllegalMonitorStateException("the current thread does not hold " + mutex.name());
      }
      if (--holds > 0) {
        return;
      }
      release = held;
      owner = null;
      held = null;
    }
    release.close();
  }

  @Override
  public Condition newCondition() {
    throw new UnsupportedOperationException("a distributed mutex has no conditions");
  }

  @Override
  public synchronized String toString() {
    return "MutexLock{" + mutex.name() + (owner == null ? "" : ", held by " + owner.getName() + " x" + holds) + "}";
  }
}
