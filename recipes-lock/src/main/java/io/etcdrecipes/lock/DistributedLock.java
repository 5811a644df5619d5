package io.etcdrecipes.lock;

import io.etcdrecipes.recipes.Ownership;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Lock;

/**
 * A lock in etcd: {@link Mutex}, and each side of a {@link ReadWriteLock}. One blocking contract: {@link #lock(Duration)}
 * throws {@link TimeoutException} and leaves nothing behind, {@link #lock()} is interruptible (and leaves nothing
 * behind either), {@link #lockAsync()} is a future (cancelling it gives the attempt up); {@link #tryLock()} never waits.
 * What they return is the lock held: an {@link Ownership} with its fencing token, guard and {@code lost()}; closing it
 * unlocks, from any thread. etcd failures are unchecked {@link io.etcdrecipes.client.EtcdException}s; a lost session is
 * a {@link io.etcdrecipes.recipes.SessionLostException}, thrown at once with nothing written.
 */
public interface DistributedLock {

  /** The name the lock was created with (its key prefix). */
  String name();

  /**
   * Waits at most {@code timeout} ({@code > 0}); on {@link TimeoutException} the attempt's key is already deleted
   * (while etcd cannot be reached, it is deleted in the background once it can: docs/conventions.md).
   */
  Ownership lock(Duration timeout) throws InterruptedException, TimeoutException;

  /** Waits until held or interrupted; on interrupt the attempt's key is deleted before {@link InterruptedException}. */
  Ownership lock() throws InterruptedException;

  /** The lock as a future; cancelling it gives the attempt up (its key deleted). */
  CompletableFuture<Ownership> lockAsync();

  /** The lock if it can be had now, without waiting for anyone; else empty (nothing left behind). */
  Optional<Ownership> tryLock();

  /**
   * This lock with {@link Lock}'s thread semantics: reentrant for the holding thread (a hold count, as
   * {@code ReentrantLock}; one count per lock — session and name — whatever object the thread uses), unlocked by that
   * thread only ({@link IllegalMonitorStateException} otherwise); {@code newCondition} is not supported. A nested
   * {@code lock}/{@code tryLock} of a thread whose hold was lost throws
   * {@link io.etcdrecipes.recipes.OwnershipLostException} (the lost hold may be someone else's lock by now), and so
   * does the last {@code unlock} of a lost hold, after ending it. It hides the {@link Ownership}: use the handle API
   * where writes must be fenced or a loss noticed.
   */
  default Lock asLock() {
    return new ThreadLock(this);
  }
}
