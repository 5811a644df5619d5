package io.etcdrecipes.election;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Registration;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionPolicy;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.Names;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;

/**
 * Curator's {@code LeaderLatch} on etcd: start it, and it campaigns for as long as it runs — through session losses
 * (it opens a new session and joins again) and suspensions (it resigns the suspended term and joins again) — telling
 * listeners {@code isLeader}/{@code notLeader}. Its candidates are an {@link Election} of the same name, so Go's
 * {@code etcdctl elect} and {@link Election#observe} see them.
 *
 * <pre>{@code
 * try (LeaderLatch latch = LeaderLatch.builder(client, "services/scheduler", "node-1").build()) {
 *   latch.addListener(new LeaderLatchListener() {
 *     public void isLeader(Leadership term) { startScheduling(term); }
 *     public void notLeader() { stopScheduling(); }
 *   });
 *   latch.start();
 *   latch.await(Duration.ofMinutes(1));   // TimeoutException if not leader by then
 * }                                       // resigns: the next candidate leads at once
 * }</pre>
 *
 * <p><b>Never two leaders.</b> A term is claimed only when the contention's read — a transaction that also checks that
 * our key still exists with its create revision on our lease — finds our key the oldest (Curator's LeaderLatch could
 * claim from a stale child list: CURATOR-696). Under the default {@link SessionPolicy#SUSPENDED_IS_LOST}, the leader
 * is told {@code notLeader} as soon as its session is suspended, which is before the server can expire its lease, so
 * before anyone else can be elected. Every term has its own key and fencing token.
 */
public final class LeaderLatch implements AutoCloseable {

  /** What {@link #close(CloseMode)} tells the listeners. */
  public enum CloseMode {
    /** Close without calling {@code notLeader} (Curator's default). */
    SILENT,
    /** Call {@code notLeader} if this participant leads when closed. */
    NOTIFY_LEADER
  }

  private enum State { LATENT, STARTED, CLOSED }

  private final String name;
  private final ByteSequence id;
  private final Candidate candidate;
  private final EtcdClient client;
  private final Duration closeTimeout;
  private final List<Entry> listeners = new CopyOnWriteArrayList<>();
  // guarded by this
  private State state = State.LATENT;
  private boolean notifyOnClose;
  private Leadership leading;
  private CompletableFuture<Leadership> elected = new CompletableFuture<>();

  private LeaderLatch(Builder b) {
    this.name = b.name;
    this.id = b.id;
    this.client = b.client;
    this.closeTimeout = client.config().callTimeout().plusSeconds(1);
    this.candidate = new Candidate(b.client, b.name, b.id, b.ttl, b.policy, b.executor, false, new Candidate.Events() {
      @Override
      public void elected(Leadership term) {
        onElected(term);
      }

      @Override
      public void ended(Leadership term, OwnershipLostException why) {
        onEnded(term);
      }
    });
  }

  /** A latch for election {@code name}, this participant's id (its value in etcd: not empty) {@code id}. */
  public static Builder builder(EtcdClient client, String name, String id) {
    return new Builder(client, name, id);
  }

  /** Starts campaigning. {@link IllegalStateException} when started before or closed. */
  public void start() {
    synchronized (this) {
      if (state != State.LATENT) {
        throw new IllegalStateException("the latch is " + state + "; start it once");
      }
      state = State.STARTED;
    }
    candidate.start();
  }

  /**
   * Adds a listener; closing the registration removes it. It hears the changes after it was added: to miss nothing,
   * add it before {@link #start()}, or read {@link #hasLeadership()} after adding it.
   */
  public Registration addListener(LeaderLatchListener listener) {
    Entry e = new Entry(Objects.requireNonNull(listener, "listener"));
    listeners.add(e);
    return e;
  }

  /** Whether this participant leads now (its term still valid). */
  public boolean hasLeadership() {
    Leadership l;
    synchronized (this) {
      l = leading;
    }
    return l != null && l.isValid();
  }

  /** The current term, while leading. */
  public synchronized Optional<Leadership> leadership() {
    return Optional.ofNullable(leading);
  }

  /** Waits at most {@code timeout} to lead; {@link TimeoutException} if it does not by then. */
  public Leadership await(Duration timeout) throws InterruptedException, TimeoutException {
    Blocking.checkTimeout(timeout, "timeout");
    return Blocking.await(electedFuture(), timeout);
  }

  /** Waits until leading, or interrupted. */
  public Leadership await() throws InterruptedException {
    return Blocking.await(electedFuture());
  }

  /**
   * Completes with the term once this participant leads (at once if it leads now). Cancelling the returned future
   * stops only that wait: the latch goes on campaigning. {@link IllegalStateException} when not started or closed.
   */
  public CompletableFuture<Leadership> awaitAsync() {
    return electedFuture();
  }

  private synchronized CompletableFuture<Leadership> electedFuture() {
    if (state != State.STARTED) {
      throw new IllegalStateException("the latch is " + state);
    }
    Leadership won = elected.getNow(null);
    if (won != null && won.lost().isCompletedExceptionally()) { // released just now, before onEnded ran: wait for the next
      elected = new CompletableFuture<>();
    }
    return elected.thenApply(l -> l);
  }

  /**
   * Gives the current term up, if this participant leads, and stays in the running behind the others: the key is
   * deleted (the next candidate leads at once), listeners hear {@code notLeader}, and the latch campaigns again with a
   * new key. Closing or resigning a term the latch handed out does the same. Returns whether it led; waits for the
   * delete at most the client's call timeout plus a second ({@link io.etcdrecipes.client.EtcdException} then; it goes
   * on in the background). {@link IllegalStateException} when not started or closed.
   */
  public boolean yield() {
    Leadership l;
    synchronized (this) {
      if (state != State.STARTED) {
        throw new IllegalStateException("the latch is " + state);
      }
      l = leading;
    }
    return l != null && l.resign();
  }

  /** This participant's id. */
  public String id() {
    return id.toStringUtf8();
  }

  /** The ids of every participant, leader first (a linearizable read). */
  public List<String> participants() throws InterruptedException {
    return observerElection().candidates().stream().map(LeaderInfo::valueUtf8).toList();
  }

  /** The leader's id, or empty when there is none. */
  public Optional<String> leaderId() throws InterruptedException {
    return observerElection().leader().map(LeaderInfo::valueUtf8);
  }

  private Election observerElection() {
    Session s = candidate.session();
    if (s == null) {
      throw new IllegalStateException("the latch has no session yet (not started, or between sessions)");
    }
    return Election.create(s, name);
  }

  /** {@link #close(CloseMode)} with {@link CloseMode#SILENT}. */
  @Override
  public void close() {
    close(CloseMode.SILENT);
  }

  /**
   * Stops campaigning, resigns if leading (the next candidate leads at once) and closes the latch's session; waits for
   * that at most the client's call timeout. Never throws; idempotent.
   */
  public void close(CloseMode mode) {
    synchronized (this) {
      if (state == State.CLOSED) {
        return;
      }
      state = State.CLOSED;
      notifyOnClose = mode == CloseMode.NOTIFY_LEADER && leading != null;
      leading = null;
      elected.cancel(false);
    }
    CompletableFuture<Void> done = candidate.close(mode == CloseMode.NOTIFY_LEADER);
    try {
      done.get(Blocking.nanos(closeTimeout), java.util.concurrent.TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      // goes on in the background; the session's lease ends it at the latest
    }
  }

  private void onElected(Leadership term) {
    CompletableFuture<Leadership> e;
    synchronized (this) {
      if (state != State.STARTED) {
        return;
      }
      leading = term;
      e = elected;
    }
    e.complete(term);
    for (Entry l : listeners) {
      l.isLeader(term);
    }
  }

  private void onEnded(Leadership term) {
    boolean wasLeading;
    synchronized (this) {
      // a term ended by close(NOTIFY_LEADER) was cleared by close() itself: it was ours; any other end counts
      // only if the term is the one we report as leading
      wasLeading = leading == term || (state == State.CLOSED && notifyOnClose);
      if (leading == term) {
        leading = null;
      }
      if (elected.isDone() && !elected.isCancelled()) {
        elected = new CompletableFuture<>();
      }
    }
    if (wasLeading) {
      for (Entry l : listeners) {
        l.notLeader();
      }
    }
  }

  @Override
  public synchronized String toString() {
    return "LeaderLatch{" + name + ", id=" + id.toStringUtf8() + ", " + state + (leading != null ? ", leading" : "") + "}";
  }

  private final class Entry implements Registration {
    final LeaderLatchListener listener;
    volatile boolean removed;

    Entry(LeaderLatchListener listener) {
      this.listener = listener;
    }

    void isLeader(Leadership term) {
      if (!removed) {
        try {
          listener.isLeader(term);
        } catch (RuntimeException e) {
          org.slf4j.LoggerFactory.getLogger(LeaderLatch.class).warn("isLeader listener threw", e);
        }
      }
    }

    void notLeader() {
      if (!removed) {
        try {
          listener.notLeader();
        } catch (RuntimeException e) {
          org.slf4j.LoggerFactory.getLogger(LeaderLatch.class).warn("notLeader listener threw", e);
        }
      }
    }

    @Override
    public void close() {
      removed = true;
      listeners.remove(this);
    }
  }

  /** Builds a {@link LeaderLatch}; each setter once. */
  public static final class Builder {
    private final EtcdClient client;
    private final String name;
    private final ByteSequence id;
    private Duration ttl = Duration.ofSeconds(10);
    private SessionPolicy policy = SessionPolicy.SUSPENDED_IS_LOST;
    private Executor executor;
    private final java.util.Set<String> set = new java.util.HashSet<>();

    private Builder(EtcdClient client, String name, String id) {
      this.client = Objects.requireNonNull(client, "client");
      Names.prefix(name, "name");
      this.name = name;
      this.id = Election.utf8(id);
      Election.checkValue(this.id);
    }

    private void once(String setter) {
      if (!set.add(setter)) {
        throw new IllegalStateException(setter + " is already set");
      }
    }

    /** The TTL of the latch's sessions (default 10 s): how long a crashed leader keeps the others waiting. */
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

    /** Where listeners run (default: the client's callback executor). */
    public Builder executor(Executor executor) {
      once("executor");
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    public LeaderLatch build() {
      return new LeaderLatch(this);
    }
  }
}
