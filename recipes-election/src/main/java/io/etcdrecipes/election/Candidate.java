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
  private final boolean ownerResignsLostTerms;
  private final io.etcdrecipes.recipes.internal.OrderedDispatcher dispatcher;

  // guarded by this
  private boolean running;
  private boolean closed;
  private Session session;
  private CompletableFuture<Leadership> campaign;
  private Leadership term;
  private int failures;
  private Leadership awaitingResign; // a term that ended while its owner still acts on it (ownerResignsLostTerms)
  private boolean resigning;         // a resign's delete is under way: campaign only once it is done
  private boolean requeueOnce;       // requeue() asked for one more campaign after the current term

  /**
   * {@code ownerResignsLostTerms}: a lost term is resigned (and the next campaign started) by the owner through
   * {@link #resign}, once it has stopped acting on it (a selector whose task must return first); else right after
   * the {@code ended} callback returned.
   */
  Candidate(EtcdClient client, String name, ByteSequence id, Duration ttl, SessionPolicy policy,
            java.util.concurrent.Executor executor, boolean ownerResignsLostTerms, Events events) {
    this.client = client;
    this.name = name;
    this.id = id;
    this.ttl = ttl;
    this.policy = policy;
    this.events = events;
    this.ownerResignsLostTerms = ownerResignsLostTerms;
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

  /**
   * Campaigns again once more (a selector without auto-requeue): now when nothing is going on, else after the current
   * term (or the resign under way) is done. False when a campaign is already queued or under way.
   */
  boolean requeue() {
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("closed");
      }
      if (campaign != null) {
        return false;
      }
      if (term != null || awaitingResign != null || resigning) {
        if (requeueOnce) {
          return false;
        }
        requeueOnce = true;
        return true;
      }
      if (running) { // between sessions, or a retry is due
        return false;
      }
      running = true;
    }
    next();
    return true;
  }

  synchronized Leadership term() {
    return term;
  }

  synchronized Session session() {
    return session;
  }

  /** Campaigns again (after a term ended, or for the first time) on a usable session. */
  private synchronized void next() {
    if (!running || campaign != null || term != null || resigning || awaitingResign != null) {
      return; // not running, or a term (or its resign) is not over yet: afterResign campaigns next
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
      c = election.campaignAsync(id, false);
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
    boolean keep = false;
    synchronized (this) {
      if (campaign != c) {
        if (l != null) {
          l.resignAsync(); // campaign given up (closed) just as it was won
        }
        return;
      }
      campaign = null;
      if (t == null && running) {
        term = l;
        failures = 0;
        keep = true;
        // queued under the lock: ordered against a close() or a loss that come right after
        dispatcher.enqueue(() -> events.elected(l));
      }
    }
    if (t != null) {
      if (!Blocking.isCancellation(t)) {
        retryLater(t);
      }
      return;
    }
    if (!keep) {
      l.resignAsync(); // not on this (callback) thread: never block it
      return;
    }
    dispatcher.flush();
    l.lost().whenComplete((why, e) -> {
      if (why != null) {
        lostTerm(l, why);
      } else {
        released(l); // cancelled: the term was released, by us or by the owner's user
      }
    });
  }

  /**
   * The term was released by someone other than this candidate — the user closed or resigned it (a latch's
   * {@code try (Leadership t = latch.await(d))}, {@code term.resign()} in {@code isLeader}, {@code LeaderLatch.yield()}):
   * a yield. The owner hears {@code ended}, and the candidate campaigns again behind the others once the key is gone
   * (a selector: once its task returned and it resigned the term).
   */
  private void released(Leadership l) {
    endTerm(l, null); // a term this candidate resigned itself (resign, close, a lost term) is no longer its term
  }

  private void lostTerm(Leadership l, OwnershipLostException why) {
    endTerm(l, why);
  }

  /**
   * Term {@code l} ended ({@code why}: lost; null: released by the owner's user). The owner hears {@code ended}; then,
   * unless the owner resigns ended terms itself (a selector, once its task returned), the old term's key is given up
   * — only once the owner heard it (its notLeader returned), so the next leader cannot start before we stopped, and
   * a suspended session may still hold the key — and the candidate campaigns again behind the others, with a new key
   * and a higher token, on a new session if this one is gone.
   */
  private void endTerm(Leadership l, OwnershipLostException why) {
    synchronized (this) {
      if (term != l) {
        return;
      }
      term = null;
      dispatcher.enqueue(() -> events.ended(l, why));
      if (ownerResignsLostTerms) {
        awaitingResign = l;
      } else {
        resigning = true;
        dispatcher.enqueue(() -> l.resignAsync().whenComplete((b, e) -> afterResign(true, 0)));
      }
    }
    dispatcher.flush();
  }

  /**
   * The owner lets term {@code l} go — its work returned, or it stopped after the term was lost — and campaigns again
   * if {@code requeue}. The key is deleted only after the owner's {@code ended} callback (if still due) returned.
   */
  void resign(Leadership l, boolean requeue) {
    resign(l, requeue, 0);
  }

  /**
   * As {@link #resign(Leadership, boolean)}, campaigning again only {@code requeueDelayMillis} after the key is gone
   * (a selector whose task fails or returns at once backs off instead of campaigning at RPC speed).
   */
  void resign(Leadership l, boolean requeue, long requeueDelayMillis) {
    synchronized (this) {
      boolean current = term == l;
      if (current) {
        term = null;
        dispatcher.enqueue(() -> events.ended(l, null));
      }
      if (awaitingResign == l) {
        awaitingResign = null;
      }
      resigning = true;
      dispatcher.enqueue(() -> l.resignAsync().whenComplete((b, e) -> afterResign(requeue, requeueDelayMillis)));
    }
    dispatcher.flush();
  }

  /**
   * A term's key is gone (or its delete gave up): campaign again — {@code requeue}, or a {@link #requeue()} asked for
   * in the meantime — after {@code delayMillis}; else stop and close the session.
   */
  private void afterResign(boolean requeue, long delayMillis) {
    boolean again;
    Session toClose = null;
    synchronized (this) {
      resigning = false;
      again = (requeue || requeueOnce) && !closed;
      requeueOnce = false;
      running = again;
      if (!again) { // under the lock: a requeue() right after this opens a new session, never uses this one
        toClose = session;
        session = null;
      }
    }
    if (again && delayMillis > 0) {
      SharedExecutors.timer().schedule(this::next, delayMillis, TimeUnit.MILLISECONDS);
    } else if (again) {
      next();
    } else if (toClose != null) {
      toClose.closeAsync();
    }
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
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (this) {
      running = false;
      closed = true;
      c = campaign;
      campaign = null;
      Leadership l = term;
      term = null;
      if (l != null && notify) {
        dispatcher.enqueue(() -> events.ended(l, null));
      }
      // after the listeners: resign, then close the session
      dispatcher.enqueue(() -> (l == null ? CompletableFuture.completedFuture(false) : l.resignAsync())
          .handle((b, e) -> null).thenCompose(v -> closeSession()).whenComplete((v, e) -> done.complete(null)));
    }
    dispatcher.flush();
    if (c != null) {
      c.cancel(false);
    }
    return done;
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
