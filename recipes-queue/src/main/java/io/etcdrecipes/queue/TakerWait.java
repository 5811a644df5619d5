package io.etcdrecipes.queue;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.Watch;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.recipes.internal.FreshWatch;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A consumer's current wait: one or more watches from now ({@link FreshWatch}). Once all are created, or as soon as one
 * fires, {@code ended} runs and the consumer reads again: whatever happened before the watches is in that read,
 * whatever happens after wakes it. A fired wait is over; a wait started again for the same thing while it is still in
 * place is kept (the read after the watches were created asked for what they already cover).
 */
final class TakerWait {

  /** One watch of a wait: what to watch and which event ends the wait. */
  record Target(ByteSequence key, WatchOption option, Predicate<WatchEvent> wakes) {}

  private final Watch watch;
  private final Runnable ended;
  private final Consumer<EtcdException> failed;

  // guarded by this
  private final List<FreshWatch> watches = new ArrayList<>();
  private Object spec;
  private Object token;
  private int toCreate;
  private boolean closed;

  TakerWait(Watch watch, Runnable ended, Consumer<EtcdException> failed) {
    this.watch = watch;
    this.ended = ended;
    this.failed = failed;
  }

  /** Waits for {@code spec} with {@code targets}, unless that wait is in place already. */
  void start(Object newSpec, List<Target> targets) {
    synchronized (this) {
      if (closed || (token != null && newSpec.equals(spec) && watches.stream().noneMatch(FreshWatch::isOver))) {
        return;
      }
    }
    stop();
    Object t = new Object();
    synchronized (this) { // published before the watches start: their callbacks may run before start() returns
      if (closed) {
        return;
      }
      spec = newSpec;
      token = t;
      toCreate = targets.size();
    }
    List<FreshWatch> started = new ArrayList<>();
    for (Target target : targets) {
      started.add(FreshWatch.start(watch, newSpec, target.key(), target.option(), target.wakes(),
          () -> created(t), () -> woken(t), failed, null)); // no rechecks: these wait for new items (PUTs) as well
    }
    boolean closeNow;
    synchronized (this) {
      closeNow = token != t; // fired, replaced or closed meanwhile
      if (!closeNow) {
        watches.addAll(started);
      }
    }
    if (closeNow) {
      started.forEach(FreshWatch::close);
    }
  }

  private void created(Object t) {
    synchronized (this) {
      if (token != t || --toCreate > 0) {
        return;
      }
    }
    ended.run();
  }

  private void woken(Object t) {
    synchronized (this) {
      if (token != t) {
        return;
      }
    }
    stop();
    ended.run();
  }

  /** Ends the current wait (if any). */
  void stop() {
    List<FreshWatch> toClose;
    synchronized (this) {
      toClose = new ArrayList<>(watches);
      watches.clear();
      spec = null;
      token = null;
    }
    toClose.forEach(FreshWatch::close);
  }

  /** Ends the current wait; no wait starts after this. */
  void close() {
    synchronized (this) {
      closed = true;
    }
    stop();
  }
}
