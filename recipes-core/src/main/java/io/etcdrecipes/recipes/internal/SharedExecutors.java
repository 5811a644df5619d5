package io.etcdrecipes.recipes.internal;

import io.etcdrecipes.client.EtcdClient;

import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The few threads recipes-core needs of its own: one timer thread for session checks, and a pool for
 * blocking work (asynchronous STM runs) when the caller supplies no executor. All daemon threads that
 * end when idle, so nothing is left behind once the sessions and waits are gone. User callbacks run on
 * the client's callback executor unless the caller gives another.
 */
public final class SharedExecutors {

  private static final ScheduledThreadPoolExecutor TIMER;
  private static final ThreadPoolExecutor CALLBACKS;

  static {
    TIMER = new ScheduledThreadPoolExecutor(1, daemon("etcd-recipes-timer"));
    TIMER.setRemoveOnCancelPolicy(true);
    TIMER.setKeepAliveTime(10, TimeUnit.SECONDS);
    TIMER.allowCoreThreadTimeOut(true);
    CALLBACKS = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
        daemon("etcd-recipes-callback"));
  }

  private SharedExecutors() {}

  /** One timer thread shared by every session: ticks are short and never block. */
  public static ScheduledExecutorService timer() {
    return TIMER;
  }

  /** A pool for callbacks and blocking work (STM functions run asynchronously). */
  public static Executor pool() {
    return CALLBACKS;
  }

  /** The executor user callbacks go to: the explicit one, else the client's. */
  public static Executor callbacks(EtcdClient client, Executor explicit) {
    return explicit != null ? explicit : client.callbackExecutor();
  }

  private static ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
