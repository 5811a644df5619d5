package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.ResponseHeader;
import io.etcdrecipes.client.Watch;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.FreshWatch;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Waits until every key under a prefix created at or before a revision is gone (Go's {@code waitDeletes}):
 * how a waiter waits for those ahead of it.
 *
 * <p>Each round reads the youngest such key ({@code maxCreateRevision(rev)}, sorted by create revision
 * descending, limit 1) and watches <em>only that key</em> until it is deleted; then it reads again, until the
 * read finds nothing. So each waiter watches one key, and one delete wakes only the waiter right behind it,
 * not the whole herd.
 *
 * <p>The watch starts from "now", and once etcd created it the round reads again: etcd serves a watch that starts at
 * a revision it has already passed (Go's: the read's; ours used to be the read's + 1, which is passed as soon as any
 * other write lands first) from its "unsynced" group, caught up by a loop every 100 ms — what makes contended locks
 * slow in Go and jetcd. A watch from now is served at once; the read after it covers what happened before. While the
 * reads name the same key, the same watch stays. Completes with the header of the final (empty) read.
 */
public final class WaitForDelete extends Wait<ResponseHeader> {

  private final KV kv;
  private final Watch watch;
  private final ByteSequence prefix;
  private final GetOption read;
  private final AtomicInteger reads = new AtomicInteger();
  private final AtomicLong events = new AtomicLong();

  // guarded by this
  private FreshWatch waiting; // null until start() returned
  private Object waitToken; // the current wait, set before its watch starts
  private ByteSequence waitingFor;
  private boolean created;

  private WaitForDelete(KV kv, Watch watch, ByteSequence prefix, long maxCreateRevision) {
    this.kv = Objects.requireNonNull(kv, "kv");
    this.watch = Objects.requireNonNull(watch, "watch");
    this.prefix = prefix;
    this.read = GetOption.lastCreate().toBuilder().maxCreateRevision(maxCreateRevision).build();
  }

  /**
   * Starts waiting until no key under {@code prefix} (a raw byte prefix, e.g. {@link Keys#ownerPrefix}) with
   * create revision &lt;= {@code maxCreateRevision} exists. For a contender whose own key has create revision
   * {@code myRev}, pass {@code myRev - 1}. Reads through {@code kv} and watches through {@code watch}, so it runs
   * over a namespaced or ordering wrapper as well as over {@code client.kv()} and {@code client.watch()}.
   */
  public static WaitForDelete start(KV kv, Watch watch, ByteSequence prefix, long maxCreateRevision) {
    Objects.requireNonNull(prefix, "prefix");
    if (maxCreateRevision < 1) {
      throw new IllegalArgumentException("maxCreateRevision must be >= 1, got " + maxCreateRevision);
    }
    WaitForDelete w = new WaitForDelete(kv, watch, prefix, maxCreateRevision);
    w.round();
    return w;
  }

  /** The key watched right now, or {@code null} (reading, or done). */
  public synchronized ByteSequence watching() {
    return waitingFor;
  }

  /** How many reads this wait made; for tests. */
  int reads() {
    return reads.get();
  }

  /** How many times this wait was woken (a watch event, or a recheck that found the key gone); for tests. */
  long eventsReceived() {
    return events.get();
  }

  /** Whether the current watch is in place on the server; for tests. */
  synchronized boolean watchCreated() {
    return waitToken != null && created;
  }

  private void round() {
    if (isDone()) {
      return;
    }
    reads.incrementAndGet();
    kv.get(prefix, read).whenComplete((r, t) -> {
      if (t != null) {
        fail(Blocking.unwrap(t));
        return;
      }
      KeyValue youngest = r.first();
      if (youngest == null) {
        complete(r.header());
        return;
      }
      ByteSequence key = youngest.key();
      synchronized (this) {
        if (isDone() || (waitToken != null && key.equals(waitingFor) && (waiting == null || !waiting.isOver()))) {
          return; // the read after the watch was created names the same key: the watch covers the rest
        }
      }
      stopWaiting();
      Object token = new Object();
      synchronized (this) { // published before the watch starts: its callbacks may run before start() returns
        if (isDone()) {
          return;
        }
        waitToken = token;
        waitingFor = key;
        created = false;
      }
      FreshWatch fw = FreshWatch.start(watch, key, key, WatchOption.builder().noPut().build(),
          e -> e.type() == WatchEvent.Type.DELETE, () -> created(token), () -> woken(token), this::fail,
          new FreshWatch.Recheck(kv, youngest.createRevision(), r.header().revision()));
      boolean closeNow;
      synchronized (this) {
        closeNow = waitToken != token || isDone(); // woken, replaced or ended meanwhile
        if (!closeNow) {
          waiting = fw;
        }
      }
      if (closeNow) {
        fw.close();
      }
    });
  }

  private void created(Object token) {
    synchronized (this) {
      if (waitToken != token) {
        return;
      }
      created = true;
    }
    round();
  }

  private void woken(Object token) {
    synchronized (this) {
      if (waitToken != token) {
        return;
      }
    }
    events.incrementAndGet();
    stopWaiting();
    round();
  }

  private void stopWaiting() {
    FreshWatch fw;
    synchronized (this) {
      fw = waiting;
      waiting = null;
      waitToken = null;
      waitingFor = null;
      created = false;
    }
    if (fw != null) {
      fw.close();
    }
  }

  @Override
  protected void release() {
    stopWaiting();
  }
}
