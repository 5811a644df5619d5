package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.Watch;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.WatchResponse;
import io.etcdrecipes.client.Watcher;

import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Waits on a key or a prefix until the events seen match a sequence of event types in order (Go's recipes
 * {@code WaitEvents} / {@code WaitPrefixEvents}: events of other types in between are skipped), or until one
 * event matches a predicate. Completes with the event that ended the wait. Used by barriers and queues.
 */
public final class WaitForEvents extends Wait<WatchEvent> {

  private final Predicate<WatchEvent> step;
  private Watcher watcher; // guarded by this
  private boolean released; // guarded by this

  private WaitForEvents(Predicate<WatchEvent> step) {
    this.step = step;
  }

  /** Waits on {@code key} from {@code fromRevision} (&gt; 0) for events of the types {@code sequence}, in order. */
  public static WaitForEvents key(Watch watch, ByteSequence key, long fromRevision, WatchEvent.Type... sequence) {
    return start(watch, key, WatchOption.builder().revision(positive(fromRevision)).build(), inOrder(sequence));
  }

  /** As {@link #key}, for every key under {@code prefix}. */
  public static WaitForEvents prefix(Watch watch, ByteSequence prefix, long fromRevision,
                                     WatchEvent.Type... sequence) {
    return start(watch, prefix, WatchOption.builder().prefix().revision(positive(fromRevision)).build(),
        inOrder(sequence));
  }

  /**
   * Waits for the first event on {@code key} (as {@code option} selects) that matches {@code until}. The
   * option should carry a start revision: revision 0 means "from now", which can miss what happened between
   * the caller's read and the watch.
   */
  public static WaitForEvents until(Watch watch, ByteSequence key, WatchOption option,
                                    Predicate<WatchEvent> until) {
    return start(watch, key, option, Objects.requireNonNull(until, "until"));
  }

  private static WaitForEvents start(Watch watch, ByteSequence key, WatchOption option,
                                     Predicate<WatchEvent> step) {
    WaitForEvents w = new WaitForEvents(step);
    Watcher watcher = Objects.requireNonNull(watch, "watch").watch(key, option, new WatchListener() {
      @Override
      public void onNext(WatchResponse response) {
        for (WatchEvent e : response.events()) {
          if (!w.isDone() && step.test(e)) {
            w.complete(e);
            return;
          }
        }
      }

      @Override
      public void onError(EtcdException error) {
        w.fail(error);
      }
    });
    boolean closeNow;
    synchronized (w) {
      closeNow = w.released;
      if (!closeNow) {
        w.watcher = watcher;
      }
    }
    if (closeNow) {
      watcher.close();
    }
    return w;
  }

  /** A predicate that is true at the event completing {@code sequence} (stateful: one per wait). */
  private static Predicate<WatchEvent> inOrder(WatchEvent.Type... sequence) {
    if (sequence.length == 0) {
      throw new IllegalArgumentException("at least one event type to wait for");
    }
    List<WatchEvent.Type> types = List.of(sequence);
    int[] next = {0};
    return e -> {
      if (e.type() == types.get(next[0])) {
        next[0]++;
      }
      return next[0] == types.size();
    };
  }

  private static long positive(long revision) {
    if (revision <= 0) {
      throw new IllegalArgumentException("fromRevision must be > 0 (0 would mean 'from now'), got " + revision);
    }
    return revision;
  }

  @Override
  protected void release() {
    Watcher w;
    synchronized (this) {
      released = true;
      w = watcher;
      watcher = null;
    }
    if (w != null) {
      w.close();
    }
  }
}
