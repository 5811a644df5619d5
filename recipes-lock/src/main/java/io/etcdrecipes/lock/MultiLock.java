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
import java.util.concurrent.CompletableFuture;
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

  /**
   * Takes every lock, in order, as a future. Any completion of it but its own — {@code cancel}, {@code orTimeout},
   * {@code completeExceptionally} — gives the attempt up: the lock being waited for is abandoned (its key deleted)
   * and what was taken is released; a failure of one lock releases the others.
   */
  public CompletableFuture<HeldLocks> lockAsync() {
    CompletableFuture<HeldLocks> own = new CompletableFuture<>();
    List<Ownership> taken = new ArrayList<>();
    java.util.concurrent.atomic.AtomicReference<CompletableFuture<Ownership>> waiting =
        new java.util.concurrent.atomic.AtomicReference<>();
    Runnable giveUp = () -> {
      own.cancel(false);
      CompletableFuture<Ownership> w = waiting.get();
      if (w != null) {
        w.cancel(false); // a mutex's lockAsync gives its attempt up on cancel
      }
      releaseTaken(taken);
    };
    takeFrom(0, taken, waiting, own);
    own.whenComplete((held, e) -> {
      if (e != null) {
        releaseTaken(taken);
      }
    });
    // won just as the caller completed it: release, never blocking the thread that won (an RPC thread)
    return io.etcdrecipes.recipes.internal.Blocking.giveUpUnlessOwnOutcome(own, giveUp, held -> {
      releaseTaken(new ArrayList<>(held.ownerships()));
      return null;
    });
  }

  private void takeFrom(int i, List<Ownership> taken,
                        java.util.concurrent.atomic.AtomicReference<CompletableFuture<Ownership>> waiting,
                        CompletableFuture<HeldLocks> own) {
    if (own.isDone()) {
      return;
    }
    if (i == ordered.size()) {
      HeldLocks all;
      synchronized (taken) {
        all = new HeldLocks(taken);
      }
      own.complete(all); // outside the lock: what completes with it runs on this thread
      return;
    }
    CompletableFuture<Ownership> f;
    try {
      f = ordered.get(i).lockAsync();
    } catch (RuntimeException e) { // a lost session: nothing written for this one
      own.completeExceptionally(e);
      return;
    }
    waiting.set(f);
    if (own.isDone()) {
      f.cancel(false);
      return;
    }
    f.whenComplete((o, e) -> {
      if (e != null) {
        own.completeExceptionally(io.etcdrecipes.recipes.internal.Blocking.unwrap(e));
        return;
      }
      boolean keep;
      synchronized (taken) {
        keep = !own.isDone();
        if (keep) {
          taken.add(o);
        }
      }
      if (keep) {
        takeFrom(i + 1, taken, waiting, own);
      } else {
        o.releaseAsync(); // given up meanwhile
      }
    });
  }

  /** Releases what {@link #lockAsync} took so far (once; later additions are refused by its isDone check). */
  private static void releaseTaken(List<Ownership> taken) {
    List<Ownership> copy;
    synchronized (taken) {
      copy = new ArrayList<>(taken);
      taken.clear();
    }
    for (int i = copy.size() - 1; i >= 0; i--) {
      copy.get(i).releaseAsync();
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
