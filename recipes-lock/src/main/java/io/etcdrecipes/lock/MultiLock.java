package io.etcdrecipes.lock;

import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.internal.Blocking;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * Several mutexes taken all or nothing. They are always taken in one fixed order — sorted by their names' bytes, which
 * are their key prefixes — so two multi-locks over overlapping sets cannot deadlock, whatever order their callers list
 * them in; on any failure, timeout or interrupt, whatever was taken is released before the call returns. (Mutexes
 * only: the sides of a read-write lock share one queue, and their names do not sort like their keys.)
 *
 * <pre>{@code
 * MultiLock both = MultiLock.mutexes(session, "accounts/17", "accounts/42");
 * try (HeldLocks held = both.lock(Duration.ofSeconds(5))) { ... }
 * }</pre>
 */
public final class MultiLock {

  private final List<Mutex> ordered;

  private MultiLock(List<Mutex> locks) {
    if (locks.isEmpty()) {
      throw new IllegalArgumentException("locks must not be empty");
    }
    Set<String> names = new HashSet<>();
    for (Mutex l : locks) {
      Objects.requireNonNull(l, "lock");
      if (!names.add(l.name())) {
        throw new IllegalArgumentException("locks must have distinct names; '" + l.name() + "' is there twice");
      }
    }
    List<Mutex> sorted = new ArrayList<>(locks);
    sorted.sort(Comparator.comparing(m -> io.etcdrecipes.client.ByteSequence.of(m.name())));
    this.ordered = List.copyOf(sorted);
  }

  /** A multi-lock over {@code mutexes} (distinct names). */
  public static MultiLock of(Mutex... mutexes) {
    return new MultiLock(Arrays.asList(mutexes));
  }

  /** A multi-lock over the {@link Mutex}es named {@code names} on {@code session}. */
  public static MultiLock mutexes(Session session, String... names) {
    List<Mutex> locks = new ArrayList<>();
    for (String n : names) {
      locks.add(Mutex.create(session, n));
    }
    return new MultiLock(locks);
  }

  /** The mutexes in the order they are taken. */
  public List<Mutex> locks() {
    return ordered;
  }

  /** Takes every lock within {@code timeout} in all; on {@link TimeoutException} nothing is held or left behind. */
  public HeldLocks lock(Duration timeout) throws InterruptedException, TimeoutException {
    Blocking.checkTimeout(timeout, "timeout");
    long deadline = System.nanoTime() + Blocking.nanos(timeout);
    List<Ownership> taken = new ArrayList<>();
    try {
      for (Mutex l : ordered) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new TimeoutException("took " + taken.size() + " of " + ordered.size() + " locks in " + timeout);
        }
        taken.add(l.lock(Duration.ofNanos(left)));
      }
      return new HeldLocks(taken);
    } catch (InterruptedException | TimeoutException | RuntimeException | Error e) {
      releaseAll(taken);
      throw e;
    }
  }

  /** Takes every lock, waiting as long as needed; an interrupt releases whatever was taken. */
  public HeldLocks lock() throws InterruptedException {
    List<Ownership> taken = new ArrayList<>();
    try {
      for (Mutex l : ordered) {
        taken.add(l.lock());
      }
      return new HeldLocks(taken);
    } catch (InterruptedException | RuntimeException | Error e) {
      releaseAll(taken);
      throw e;
    }
  }

  /** Every lock if each can be had now, else empty (what was taken released). */
  public Optional<HeldLocks> tryLock() {
    List<Ownership> taken = new ArrayList<>();
    try {
      for (Mutex l : ordered) {
        Optional<Ownership> o = l.tryLock();
        if (o.isEmpty()) {
          releaseAll(taken);
          return Optional.empty();
        }
        taken.add(o.get());
      }
      return Optional.of(new HeldLocks(taken));
    } catch (RuntimeException | Error e) {
      releaseAll(taken);
      throw e;
    }
  }

  static void releaseAll(List<Ownership> taken) {
    for (int i = taken.size() - 1; i >= 0; i--) {
      taken.get(i).close();
    }
  }

  @Override
  public String toString() {
    return "MultiLock" + ordered.stream().map(Mutex::name).toList();
  }
}
