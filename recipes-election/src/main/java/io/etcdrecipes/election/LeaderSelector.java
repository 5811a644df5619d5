package io.etcdrecipes.election;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.SessionPolicy;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.Names;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Curator's {@code LeaderSelector} on etcd: while started it campaigns, and each time it is elected it runs
 * {@link LeadershipTask#takeLeadership} on a thread of its own; leadership lasts until that returns (then the term is
 * resigned and the next candidate leads at once). When the term is lost first (session suspended under the default
 * policy, or lost) the thread is <b>interrupted</b> — and the term's guard makes every write it still tries in the
 * term's name fail, even if it ignores the interrupt. With {@code autoRequeue} (the default) it campaigns again after
 * each term; candidates are served in the order they queued (fair).
 *
 * <pre>{@code
 * LeaderSelector selector = LeaderSelector.builder(client, "services/compactor", "node-1", term -> {
 *   while (!Thread.currentThread().isInterrupted()) {
 *     term.commit(client.kv(), Op.put(progressKey, value)).join();   // fenced: fails once the term is over
 *     ...
 *   }
 * }).build();
 * selector.start();
 * ...
 * selector.close();   // interrupts a running term, resigns, closes the session
 * }</pre>
 *
 * <p>The callback never runs on a gRPC thread or on the session's notification executor, so a long task cannot delay
 * anyone's state changes.
 */
public final class LeaderSelector implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LeaderSelector.class);

  /** The work a leader does; it leads until this returns. */
  @FunctionalInterface
  public interface LeadershipTask {
    /**
     * Runs while this participant leads. Return to give leadership up. Check {@link Thread#isInterrupted()} (or let
     * blocking calls throw {@link InterruptedException}): the thread is interrupted when the term is lost.
     */
    void takeLeadership(Leadership term) throws Exception;
  }

  private final String name;
  private final boolean autoRequeue;
  private final LeadershipTask task;
  private final Candidate candidate;
  private final Duration closeTimeout;
  private final java.util.concurrent.atomic.AtomicInteger terms = new java.util.concurrent.atomic.AtomicInteger();
  // guarded by this
  private boolean started;
  private boolean closed;
  private Thread worker;
  private Leadership running;
  private int shortTerms; // failed or very short terms in a row

  /** A term shorter than this counts as "returned at once" for the requeue backoff. */
  static final long SHORT_TERM_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
  private static final long FIRST_REQUEUE_DELAY_MILLIS = 20;
  private static final long MAX_REQUEUE_DELAY_MILLIS = 2_000;

  private LeaderSelector(Builder b) {
    this.name = b.name;
    this.autoRequeue = b.autoRequeue;
    this.task = b.task;
    this.closeTimeout = b.client.config().callTimeout().plusSeconds(1);
    // lost terms are resigned when their task has returned (never two tasks at once, nor a new leader before ours stopped)
    this.candidate = new Candidate(b.client, b.name, b.id, b.ttl, b.policy, null, true, new Candidate.Events() {
      @Override
      public void elected(Leadership term) {
        runTerm(term);
      }

      @Override
      public void ended(Leadership term, OwnershipLostException why) {
        if (why != null) { // lost; a term the task released itself (resign, close) is the task's own business
          interruptTerm(term, why);
        }
      }
    });
  }

  /** A selector for election {@code name}; {@code id} (not empty) is this participant's value in etcd. */
  public static Builder builder(EtcdClient client, String name, String id, LeadershipTask task) {
    return new Builder(client, name, id, task);
  }

  /** Starts campaigning. {@link IllegalStateException} when started before or closed. */
  public void start() {
    synchronized (this) {
      if (started || closed) {
        throw new IllegalStateException("a selector starts once");
      }
      started = true;
    }
    candidate.start();
  }

  /** Whether a term's task is running now and its term is still valid. */
  public boolean hasLeadership() {
    Leadership l;
    synchronized (this) {
      l = running;
    }
    return l != null && l.isValid();
  }

  /** Interrupts the running task, if any (Curator's {@code interruptLeadership}); it leads until the task returns. */
  public synchronized void interruptLeadership() {
    if (worker != null) {
      worker.interrupt();
    }
  }

  private void runTerm(Leadership term) {
    synchronized (this) {
      if (closed) {
        term.resignAsync(); // not on this (callback) thread: never block it
        return;
      }
      running = term;
      worker = new Thread(() -> work(term), "leader-selector-" + name + "-" + terms.incrementAndGet());
      worker.setDaemon(true);
      worker.start();
    }
  }

  private void work(Leadership term) {
    long started = System.nanoTime();
    boolean failed = false;
    try {
      task.takeLeadership(term);
    } catch (InterruptedException e) {
      log.debug("{}: leadership task interrupted", name);
    } catch (Throwable t) {
      failed = true;
      log.warn("{}: leadership task failed; leadership is given up", name, t);
    } finally {
      boolean requeue;
      long delay;
      synchronized (this) {
        if (running == term) {
          running = null;
          worker = null;
        }
        requeue = autoRequeue && !closed;
        delay = requeueDelay(failed, System.nanoTime() - started);
      }
      Thread.interrupted(); // do not carry an interrupt into the resign
      if (delay > 0) {
        log.debug("{}: term {} {}; campaigning again in {} ms", name, term.fencingToken(),
            failed ? "failed" : "was short", delay);
      }
      candidate.resign(term, requeue, delay);
    }
  }

  /**
   * The backoff before campaigning again: none after a term of normal length; after a failed or very short one
   * ({@link #SHORT_TERM_NANOS}), 20 ms doubling to 2 s, so a task that throws or returns at once does not make a
   * lone selector campaign at RPC speed. Guarded by this.
   */
  private long requeueDelay(boolean failed, long lastedNanos) {
    if (!failed && lastedNanos >= SHORT_TERM_NANOS) {
      shortTerms = 0;
      return 0;
    }
    shortTerms = Math.min(shortTerms + 1, 16);
    return Math.min(MAX_REQUEUE_DELAY_MILLIS, FIRST_REQUEUE_DELAY_MILLIS << Math.min(shortTerms - 1, 10));
  }

  private synchronized void interruptTerm(Leadership term, OwnershipLostException why) {
    if (running == term && worker != null) {
      log.info("{}: term {} lost ({}); interrupting its task", name, term.fencingToken(), why.reason());
      worker.interrupt();
    }
  }

  /**
   * Campaigns once more (Curator's {@code requeue}), for a selector built with {@code autoRequeue(false)}: at once when
   * it neither leads nor campaigns, else after the running term's task returned. Returns false when a campaign is
   * already queued or under way. With auto-requeue every term is followed by a campaign anyway: there it changes
   * nothing. {@link IllegalStateException} when not started or closed.
   */
  public boolean requeue() {
    synchronized (this) {
      if (!started || closed) {
        throw new IllegalStateException(closed ? "the selector is closed" : "start the selector first");
      }
    }
    return candidate.requeue();
  }

  /**
   * Stops: interrupts a running task, resigns, closes the session; waits for that (and for the task to return) at
   * most the client's call timeout. Never throws; idempotent.
   */
  @Override
  public void close() {
    Thread w;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      w = worker;
    }
    try {
      if (w != null) { // the task stops before anyone else can lead
        w.interrupt();
        w.join(closeTimeout.toMillis());
      }
      CompletableFuture<Void> done = candidate.close(false);
      done.get(Blocking.nanos(closeTimeout), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      // goes on in the background; the session's lease ends it at the latest
    }
  }

  @Override
  public synchronized String toString() {
    return "LeaderSelector{" + name + (running != null ? ", leading" : "") + (closed ? ", closed" : "") + "}";
  }

  /** Builds a {@link LeaderSelector}; each setter once. */
  public static final class Builder {
    private final EtcdClient client;
    private final String name;
    private final ByteSequence id;
    private final LeadershipTask task;
    private Duration ttl = Duration.ofSeconds(10);
    private SessionPolicy policy = SessionPolicy.SUSPENDED_IS_LOST;
    private boolean autoRequeue = true;
    private final java.util.Set<String> set = new java.util.HashSet<>();

    private Builder(EtcdClient client, String name, String id, LeadershipTask task) {
      this.client = Objects.requireNonNull(client, "client");
      Names.prefix(name, "name");
      this.name = name;
      this.id = Election.utf8(id);
      Election.checkValue(this.id);
      this.task = Objects.requireNonNull(task, "task");
    }

    private void once(String setter) {
      if (!set.add(setter)) {
        throw new IllegalStateException(setter + " is already set");
      }
    }

    /** The TTL of the selector's sessions (default 10 s). */
    public Builder ttl(Duration ttl) {
      once("ttl");
      Objects.requireNonNull(ttl, "ttl");
      if (ttl.getNano() != 0 || ttl.getSeconds() < 1) {
        throw new IllegalArgumentException("ttl: whole seconds, at least 1; got " + ttl);
      }
      this.ttl = ttl;
      return this;
    }

    /** When a term counts as lost (default {@link SessionPolicy#SUSPENDED_IS_LOST}). */
    public Builder sessionPolicy(SessionPolicy policy) {
      once("sessionPolicy");
      this.policy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /** Campaign again after each term (default true). */
    public Builder autoRequeue(boolean on) {
      once("autoRequeue");
      this.autoRequeue = on;
      return this;
    }

    public LeaderSelector build() {
      return new LeaderSelector(this);
    }
  }
}
