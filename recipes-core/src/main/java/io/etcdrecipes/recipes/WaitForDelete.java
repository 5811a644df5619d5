package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.CompactedException;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.ResponseHeader;
import io.etcdrecipes.client.Watch;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.WatchResponse;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.recipes.internal.Blocking;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Waits until every key under a prefix created at or before a revision is gone (Go's {@code waitDeletes}):
 * how a lock waiter or a candidate waits for those ahead of it.
 *
 * <p>Each round reads the youngest such key ({@code maxCreateRevision(rev)}, sorted by create revision
 * descending, limit 1) and watches <em>only that key</em> until it is deleted; then it reads again, until the
 * read finds nothing. So each waiter watches one key, and one delete wakes only the waiter right behind it,
 * not the whole herd.
 *
 * <p>The watch starts at the read's header revision + 1, not at the read's revision as Go does: the read
 * already reflects that revision, and etcd serves a watch whose start revision it has already passed from its
 * "unsynced" group, caught up by a loop every 100 ms, which is what makes contended locks slow in Go and jetcd.
 * A watch that fails with compaction simply reads again. Completes with the header of the final (empty) read.
 */
public final class WaitForDelete extends Wait<ResponseHeader> {

  private final KV kv;
  private final Watch watch;
  private final ByteSequence prefix;
  private final GetOption read;
  private final AtomicInteger reads = new AtomicInteger();
  private final AtomicLong events = new AtomicLong();

  private Round current; // guarded by this

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
    return current == null ? null : current.key;
  }

  /** How many reads this wait made (one per predecessor plus the final one); for tests. */
  int reads() {
    return reads.get();
  }

  /** How many watch events this wait received in all; for tests. */
  long eventsReceived() {
    return events.get();
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
      } else {
        watch(youngest.key(), r.header().revision() + 1);
      }
    });
  }

  private void watch(ByteSequence key, long fromRevision) {
    Round round = new Round(key);
    synchronized (this) {
      if (isDone()) {
        return;
      }
      current = round;
    }
    Watcher w = watch.watch(key, WatchOption.builder().revision(fromRevision).noPut().build(),
        new WatchListener() {
          @Override
          public void onNext(WatchResponse response) {
            for (WatchEvent e : response.events()) {
              events.incrementAndGet();
              if (e.type() == WatchEvent.Type.DELETE) {
                round.finish(false, null);
              }
            }
          }

          @Override
          public void onError(EtcdException error) {
            // after compaction the key may be gone in the history we cannot see: read again
            round.finish(!(error instanceof CompactedException), error);
          }
        });
    round.attach(w);
  }

  /** One predecessor being watched. */
  private final class Round {
    final ByteSequence key;
    Watcher watcher; // guarded by WaitForDelete.this
    boolean finished; // guarded by WaitForDelete.this

    Round(ByteSequence key) {
      this.key = key;
    }

    void attach(Watcher w) {
      boolean closeNow;
      synchronized (WaitForDelete.this) {
        closeNow = finished || isDone();
        if (!closeNow) {
          watcher = w;
        }
      }
      if (closeNow) {
        w.close();
      }
    }

    void finish(boolean failed, EtcdException error) {
      Watcher w;
      synchronized (WaitForDelete.this) {
        if (finished) {
          return;
        }
        finished = true;
        w = watcher;
        watcher = null;
        if (current == this) {
          current = null;
        }
      }
      if (w != null) {
        w.close();
      }
      if (failed) {
        fail(error);
      } else {
        round();
      }
    }
  }

  @Override
  protected void release() {
    Round r;
    synchronized (this) {
      r = current;
      current = null;
    }
    if (r != null) {
      Watcher w;
      synchronized (this) {
        r.finished = true;
        w = r.watcher;
        r.watcher = null;
      }
      if (w != null) {
        w.close();
      }
    }
  }

  /** The watcher of the current round, for tests. */
  synchronized Watcher watcher() {
    return current == null ? null : current.watcher;
  }
}
