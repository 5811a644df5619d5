package io.etcdrecipes.recipes.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;

/**
 * Delivers callbacks one at a time and in the order they were enqueued, on a shared executor.
 *
 * <p>Two steps so that callers can keep their order without running user code under their locks:
 * {@link #enqueue} only appends (safe, and meant to be called, while the caller holds its own lock, so the
 * queue order is the order of the state changes), and {@link #flush} hands the queue to the executor and
 * must be called after the caller released its lock (a direct executor would otherwise run user code under
 * it). A callback that throws is logged and does not stop the ones after it.
 */
public final class OrderedDispatcher {

  private static final Logger log = LoggerFactory.getLogger(OrderedDispatcher.class);

  private final Executor executor;
  private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
  private boolean draining;

  public OrderedDispatcher(Executor executor) {
    this.executor = executor;
  }

  public void enqueue(Runnable task) {
    synchronized (queue) {
      queue.add(task);
    }
  }

  public void flush() {
    synchronized (queue) {
      if (draining || queue.isEmpty()) {
        return;
      }
      draining = true;
    }
    try {
      executor.execute(this::drain);
    } catch (RuntimeException e) {
      log.debug("callback executor refused the task (shut down?); delivering in the caller's thread", e);
      drain();
    }
  }

  private void drain() {
    while (true) {
      Runnable next;
      synchronized (queue) {
        next = queue.poll();
        if (next == null) {
          draining = false;
          return;
        }
      }
      try {
        next.run();
      } catch (Throwable t) {
        log.warn("a callback threw; continuing with the next one", t);
      }
    }
  }
}
