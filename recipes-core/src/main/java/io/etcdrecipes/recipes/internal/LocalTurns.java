package io.etcdrecipes.recipes.internal;

import io.etcdrecipes.client.ByteSequence;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * Fair (FIFO), asynchronous, in-process turns on one etcd key per owner (a session). A recipe whose key is the
 * same for every caller of one session (Go's mutex and election key, {@code prefix/<lease>}) takes a turn here
 * before it touches the key, so two threads of one JVM that share a session exclude each other instead of both
 * "owning" the one key; the turn is kept until the key is deleted again (or left for the lease to delete).
 * Entries vanish when nobody holds or waits. One lock guards all lines: each step is a few map operations, and
 * futures are completed after it is released.
 */
public final class LocalTurns {

  private static final Object LOCK = new Object();
  private static final Map<Slot, Line> LINES = new HashMap<>(); // guarded by LOCK

  private LocalTurns() {}

  /** A granted turn: {@link #release()} passes it to the next waiter. Idempotent. */
  public interface Turn {
    void release();
  }

  /**
   * Completes when it is this caller's turn on {@code key} for {@code owner} (compared by identity). Cancelling the
   * future before it completes gives the place up; a turn granted concurrently with the cancel is passed on.
   */
  public static CompletableFuture<Turn> acquire(Object owner, ByteSequence key) {
    Slot slot = new Slot(owner, key);
    CompletableFuture<Turn> f = new CompletableFuture<>();
    Granted granted = null;
    synchronized (LOCK) {
      Line line = LINES.computeIfAbsent(slot, s -> new Line());
      if (line.holder == null) {
        granted = line.holder = new Granted(slot);
      } else {
        line.waiting.add(f);
      }
    }
    if (granted != null && !f.complete(granted)) {
      granted.release();
    }
    f.whenComplete((t, e) -> {
      if (e != null) { // gave up while waiting: leave the line
        synchronized (LOCK) {
          Line line = LINES.get(slot);
          if (line != null) {
            line.waiting.remove(f);
            if (line.holder == null && line.waiting.isEmpty()) {
              LINES.remove(slot);
            }
          }
        }
      }
    });
    return f;
  }

  /** The turn if nobody holds or waits for it now, else {@code null}. */
  public static Turn tryAcquire(Object owner, ByteSequence key) {
    Slot slot = new Slot(owner, key);
    synchronized (LOCK) {
      if (LINES.containsKey(slot)) {
        return null;
      }
      Line line = new Line();
      LINES.put(slot, line);
      return line.holder = new Granted(slot);
    }
  }

  /** Whether anyone holds or waits for a turn on {@code key} for {@code owner} (for tests). */
  public static boolean isBusy(Object owner, ByteSequence key) {
    synchronized (LOCK) {
      return LINES.containsKey(new Slot(owner, key));
    }
  }

  private record Slot(Object owner, ByteSequence key) {
    Slot {
      Objects.requireNonNull(owner, "owner");
      Objects.requireNonNull(key, "key");
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Slot s && s.owner == owner && s.key.equals(key);
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(owner) * 31 + key.hashCode();
    }
  }

  /** One key's line. */
  private static final class Line {
    final ArrayDeque<CompletableFuture<Turn>> waiting = new ArrayDeque<>();
    Granted holder;

  }

  private static final class Granted implements Turn {
    final Slot slot;
    private boolean released; // guarded by LOCK

    Granted(Slot slot) {
      this.slot = slot;
    }

    @Override
    public void release() {
      Granted g = this;
      while (g != null) {
        g = g.passOn();
      }
    }

    /** Hands the turn to the next waiter; returns that waiter's turn when it gave up meanwhile (to pass on). */
    private Granted passOn() {
      CompletableFuture<Turn> nextFuture = null;
      Granted next;
      synchronized (LOCK) {
        if (released) {
          return null;
        }
        released = true;
        Line line = LINES.get(slot);
        if (line == null || line.holder != this) {
          return null;
        }
        line.holder = null;
        CompletableFuture<Turn> w;
        while ((w = line.waiting.poll()) != null) {
          if (!w.isDone()) {
            nextFuture = w;
            break;
          }
        }
        if (nextFuture == null) {
          LINES.remove(slot);
          return null;
        }
        next = line.holder = new Granted(slot);
      }
      return nextFuture.complete(next) ? null : next;
    }
  }
}
