package io.etcdrecipes.recipes.internal;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.CompactedException;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.Watch;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.WatchResponse;
import io.etcdrecipes.client.Watcher;

import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A wait for one event on a key or range that etcd delivers at once. A watch that starts at a revision etcd has already
 * passed — even the revision right after a read, once any other write landed before the watch was created — is served
 * from etcd's "unsynced" group, which a loop catches up every 100 ms: under contention that made a quarter of lock
 * handoffs take ~100 ms. So the watch starts from "now" (synced: events are sent as they happen), and once the server
 * has created it, the caller reads again ({@code created}): whatever happened before the watch is in that read, whatever
 * happens after it is delivered at once. The caller keeps the wait across rounds while its reads ask for the same
 * thing ({@link #spec()}).
 *
 * <p>A watch from now is not always synced either: etcd before 3.4.38 and 3.5.22 turns "now" into the current
 * revision + 1 before it takes the store's lock, so a write that lands in between files the new watch as unsynced
 * (etcd-io/etcd commit 973847aa2 fixed it). Its events then wait for the 100 ms loop, which on the next tick syncs
 * it. A wait for one key's DELETE can therefore look for itself ({@link Recheck}): it reads the key (keys only,
 * serializable, a point read) 10, 25, 50 and 100 ms after the watch was created — at most four reads, none once the wait is over —
 * and the key found gone, or created again since (a lock's key has the same name each time its session locks), wakes
 * it as its DELETE would: a delete held back by that loop is seen within 10–25 ms instead of up to 100 ms.
 */
public final class FreshWatch implements AutoCloseable {

  /** When a wait for a DELETE reads its key, in ms after the watch was created: the unsynced loop's 100 ms, covered. */
  private static final long[] RECHECK_MILLIS = {10, 25, 50, 100};

  /**
   * Serializable: no raft round per recheck. An answer from a member behind the read that named the key is ignored
   * ({@link Recheck#seenAt}); a member behind can then only make a recheck miss a delete (the watch still has it).
   */
  private static final GetOption RECHECK_READ = GetOption.builder().keysOnly().serializable().build();

  /**
   * How a wait for the DELETE of the watched key reads it: through {@code kv}; the create revision of the incarnation
   * it waits for; the revision of the read that named it. An answer from below {@code seenAt} (a member behind) is
   * ignored: only a member that has applied at least that read can tell that the key went since.
   */
  public record Recheck(KV kv, long createRevision, long seenAt) {}

  private final Object spec;
  private final AtomicBoolean over;
  private volatile Watcher watcher;

  private FreshWatch(Object spec, AtomicBoolean over) {
    this.spec = spec;
    this.over = over;
  }

  /**
   * Starts watching {@code key} with {@code option} (its start revision must be 0: from now). {@code created} runs once
   * when the server created the watch; {@code woken} once, at the first event {@code wakes} accepts (or when the watch
   * fell behind a compaction after a reconnect: something may have happened); {@code failed} when the watch ends with
   * another error. All run on the client's callback executor; none after {@link #close()}. {@code recheck}: null, or
   * (for a watch of the single key {@code key} that waits for its DELETE) how to read it; a recheck that finds it
   * gone runs {@code woken} (then on whatever thread completed the read).
   */
  public static FreshWatch start(Watch watch, Object spec, ByteSequence key, WatchOption option,
                                 Predicate<WatchEvent> wakes, Runnable created, Runnable woken,
                                 Consumer<EtcdException> failed, Recheck recheck) {
    if (option.revision() != 0) {
      throw new IllegalArgumentException("a fresh watch starts from now (revision 0), got " + option.revision());
    }
    AtomicBoolean over = new AtomicBoolean();
    FreshWatch fw = new FreshWatch(Objects.requireNonNull(spec, "spec"), over);
    Watcher w = watch.watch(key, option, new WatchListener() {
      @Override
      public void onNext(WatchResponse response) {
        for (WatchEvent e : response.events()) {
          if (wakes.test(e)) {
            if (over.compareAndSet(false, true)) {
              woken.run();
            }
            return;
          }
        }
      }

      @Override
      public void onError(EtcdException error) {
        if (over.compareAndSet(false, true)) {
          if (error instanceof CompactedException) {
            woken.run();
          } else {
            failed.accept(error);
          }
        }
      }
    });
    fw.watcher = w;
    if (over.get()) { // closed (or over) while being created
      w.close();
    }
    w.created().thenRun(() -> {
      if (!over.get()) {
        created.run();
        if (recheck != null) {
          recheck(recheck, key, over, woken, 0, System.nanoTime());
        }
      }
    });
    return fw;
  }

  /** The {@code i}-th recheck, {@code RECHECK_MILLIS[i]} after {@code createdNanos} (not after the previous read). */
  private static void recheck(Recheck how, ByteSequence key, AtomicBoolean over, Runnable woken, int i,
                              long createdNanos) {
    if (i == RECHECK_MILLIS.length) {
      return;
    }
    long delay = TimeUnit.MILLISECONDS.toNanos(RECHECK_MILLIS[i]) - (System.nanoTime() - createdNanos);
    try {
      SharedExecutors.timer().schedule(() -> {
        if (over.get()) {
          return;
        }
        how.kv().get(key, RECHECK_READ).whenComplete((r, t) -> {
          if (t == null && r.header().revision() >= how.seenAt()
              && (r.isEmpty() || r.kvs().get(0).createRevision() != how.createRevision())) {
            if (over.compareAndSet(false, true)) {
              woken.run();
            }
          } else { // still there, a member behind, or the read failed: the watch still ends the wait
            recheck(how, key, over, woken, i + 1, createdNanos);
          }
        });
      }, Math.max(0, delay), TimeUnit.NANOSECONDS);
    } catch (RuntimeException e) { // the timer refused (shutting down): the watch alone still ends the wait
    }
  }

  /** What this wait is for (compared with {@code equals} by the caller to keep it across rounds). */
  public Object spec() {
    return spec;
  }

  /** Whether it fired, failed or was closed. */
  public boolean isOver() {
    return over.get();
  }

  @Override
  public void close() {
    over.set(true);
    Watcher w = watcher;
    if (w != null) {
      w.close();
    }
  }
}
