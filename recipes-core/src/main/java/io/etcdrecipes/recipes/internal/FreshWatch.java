package io.etcdrecipes.recipes.internal;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.CompactedException;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.Watch;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.WatchResponse;
import io.etcdrecipes.client.Watcher;

import java.util.Objects;
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
 */
public final class FreshWatch implements AutoCloseable {

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
   * another error. All run on the client's callback executor; none after {@link #close()}.
   */
  public static FreshWatch start(Watch watch, Object spec, ByteSequence key, WatchOption option,
                                 Predicate<WatchEvent> wakes, Runnable created, Runnable woken,
                                 Consumer<EtcdException> failed) {
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
      }
    });
    return fw;
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
