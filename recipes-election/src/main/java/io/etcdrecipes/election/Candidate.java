package io.etcdrecipes.election;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionPolicy;
import io.etcdrecipes.recipes.SessionState;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.SharedExecutors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The engine of {@link LeaderLatch} and {@link LeaderSelector}: one participant that keeps campaigning while
 * started. It owns its session: when the session is lost it opens a new one and campaigns again; when a term is lost
 * while the session lives (suspended under the default policy) it resigns that term (deleting its key, so the next
 * term has a new key and a higher fencing token) and campaigns again. A failed campaign is retried with backoff.
 * Every change is reported to the owner through {@link Events}, from one thread at a time, in order.
 */
final class Candidate {

  private static final Logger log = LoggerFactory.getLogger(Candidate.class);

  /** What the owner hears; called in order, never concurrently, never under the candidate's lock. */
  interface Events {
    /** A term was won. Return normally; what to do with it is the owner's business. */
    void elected(Leadership term);

    /** The term ended (lost, or resigned by the owner); {@code why} is null when resigned. */
    void ended(Leadership term, OwnershipLostException why);
  }

  private final EtcdClient client;
  private final String name;
  private final ByteSequence id;
  private final Duration ttl;
  private final SessionPolicy policy;
  private final Events events;
  private final io.etcdrecipes.recipes.internal.OrderedDispatcher dispatcher;

  // guarded by this
  private boolean running;
  private Session session;
  private CompletableFuture<Leadership> campaign;
  private Leadership term;
  private int failures;

  Candidate(EtcdClient client, String name, ByteSequence id, Duration ttl, SessionPolicy policy,
            java.util.concurrent.Executor executor, Events events) {
    this.client = client;
    this.name = name;
    this.id = id;
    this.ttl = ttl;
    this.policy = policy;
    this.events = events;
    this.dispatcher = new io.etcdrecipes.recipes.internal.OrderedDispatcher(
        SharedExecutors.callbacks(client, executor));
  }

  synchronized void start() {
    if (running) {
      return;
    }
    running = true;
    next();
  }

  synchronized Leadership term() {
    return term;
  }

  synchronized Session session() {
    return session;
  }

  /** Campaigns again (after a term ended, or for the first time) on a usable session. */
  private synchronized void next() {
    if (!running || campaign != null || term != null) {
      return;
    }
    if (session == null || session.state() == SessionState.LOST) {
      Session old = session;
      session = null;
      if (old != null) {
        old.closeAsync();
      }
      Session.builder(client).ttl(ttl).buildAsync().whenComplete((s, t) -> opened(s, t));
      return;
    }
    Election election = Election.create(session, name, policy);
    CompletableFuture<Leadership> c;
    try {
      c = election.campaignAsync(id);
    } catch (RuntimeException e) { // the session was lost in between
      retryLater(e);
      return;
    }
    campaign = c;
    c.whenComplete((l, t) -> won(c, l, t));
  }

  private void opened(Session s, Throwable t) {
    synchronized (this) {
      if (t == null && running) {
        session = s;
        failures = 0;
      }
    }
    if (t != null) {
      retryLater(t);
    } else if (!isRunning()) {
      s.closeAsync();
    } else {
      next();
    }
  }

  private void won(CompletableFuture<Leadership> c, Leadership l, Throwable t) {
    synchronized (this) {
      if (campaign != c) {
        return;
      }
      campaign = null;
      if (t == null && running) {
        term = l;
        failures = 0;
      }
    }
    if (t != null) {
      if (!Blocking.isCancellation(t)) {
        retryLater(t);
      }
      return;
    }
    if (!isRunning()) {
      l.close();
      return;
    }
    dispatcher.enqueue(() -> events.elected(l));
    dispatcher.flush();
    l.lost().whenComplete((why, e) -> {
      if (why != null) {
        lostTerm(l, why);
      }
    });
  }

  private void lostTerm(Leadership l, OwnershipLostException why) {
    synchronized (this) {
      if (term != l) {
        return;
      }
      term = null;
    }
    dispatcher.enqueue(() -> events.ended(l, why));
    dispatcher.flush();
    // Give the old term's key up (a suspended session may still hold it) so the next term is a new key with a higher
    // token; then campaign again, on a new session if this one is gone.
    l.resignAsync().whenComplete((b, e) -> next());
  }

  /** The owner gives the current term up (a selector whose work returned); campaigns again if {@code requeue}. */
  void resign(Leadership l, boolean requeue) {
    synchronized (this) {
      if (term != l) {
        return;
      }
      term = null;
      if (!requeue) {
        running = false;
      }
    }
    dispatcher.enqueue(() -> events.ended(l, null));
    dispatcher.flush();
    l.resignAsync().whenComplete((b, e) -> {
      if (requeue) {
        next();
      } else {
        closeSession();
      }
    });
  }

  private void retryLater(Throwable t) {
    long delay;
    synchronized (this) {
      if (!running) {
        return;
      }
      failures++;
      long cap = Math.min(2_000, 50L << Math.min(failures, 6));
      delay = cap / 2 + ThreadLocalRandom.current().nextLong(cap / 2 + 1);
    }
    log.info("{}: campaign failed ({}); again in {} ms", name, Blocking.unwrap(t).toString(), delay);
    SharedExecutors.timer().schedule(this::next, delay, TimeUnit.MILLISECONDS);
  }

  private synchronized boolean isRunning() {
    return running;
  }

  /**
   * Stops: gives up a campaign, resigns a term (the owner hears {@code ended} first if {@code notify}), and closes
   * the session. Completes when the session is closed.
   */
  CompletableFuture<Void> close(boolean notify) {
    CompletableFuture<Leadership> c;
    Leadership l;
    synchronized (this) {
      running = false;
      c = campaign;
      campaign = null;
      l = term;
      term = null;
    }
    if (c != null) {
      c.cancel(false);
    }
    CompletableFuture<Boolean> resigned = CompletableFuture.completedFuture(false);
    if (l != null) {
      if (notify) {
        dispatcher.enqueue(() -> events.ended(l, null));
        dispatcher.flush();
      }
      resigned = l.resignAsync();
    }
    return resigned.handle((b, e) -> null).thenCompose(v -> closeSession());
  }

  private CompletableFuture<Void> closeSession() {
    Session s;
    synchronized (this) {
      s = session;
      session = null;
    }
    return s == null ? CompletableFuture.completedFuture(null) : s.closeAsync().handle((v, e) -> null);
  }
}
