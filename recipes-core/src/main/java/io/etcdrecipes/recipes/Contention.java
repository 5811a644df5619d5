package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.ResponseHeader;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.client.Watch;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.FreshWatch;
import io.etcdrecipes.recipes.internal.Outcomes;
import io.etcdrecipes.recipes.internal.RoundRetry;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The one wait loop of every queue-shaped recipe (mutex, read-write lock, semaphore, election): read, let the
 * {@link ContentionPolicy} decide, and either own or watch exactly the one thing it names, then read again.
 *
 * <p>Each round is one read-only transaction: the policy's reads plus a read of the contender's own key, which
 * must still exist with its create revision (etcd 3.4's server-side Lock and Go before 3.5 skip this check; a
 * session that expired while waiting would otherwise "own" with a key that is gone). The wait is a watch from "now"
 * on exactly the key or range the policy names, and once etcd created it the round reads again ({@link FreshWatch}):
 * etcd serves a watch that starts at a revision it has already passed — the read's, or even the read's + 1 once any
 * other write landed first — from a catch-up loop that runs every 100 ms (why contended locks hand over at ~100 ms
 * in Go and jetcd); a watch from now is served at once, and the read after it closes the gap. While the reads ask
 * for the same thing, the same watch stays. With a session, the wait fails with {@link SessionLostException} when it is
 * lost, and a contender whose turn comes while the session is not usable under the policy (suspended) waits for
 * it to recover or be lost: it never owns on a session it may not act for.
 *
 * <p>A read or watch that fails with a {@linkplain Outcomes#isTransient transient} error (a member unreachable or
 * without a leader, a deadline passed: an etcd election, a killed member) is retried — the round starts again after a
 * backoff of 50 ms doubling to 1 s ({@link RoundRetry}) — for as long as the session is not lost: the caller's own
 * timeout bounds it. A wait without a session, and a {@code once} decision, fail at once.
 *
 * <p>Completes with the header of the round that found the contender owning. Fails with
 * {@link OwnershipLostException} ({@code KEY_GONE}) when the contender's key vanished, or with the
 * {@link EtcdException} of a read or watch that failed for good. {@link #close()} (or a timeout of {@code await})
 * gives up the wait; deleting the contender's key is the recipe's job.
 */
public final class Contention extends Wait<ResponseHeader> {

  private final KV kv;
  private final Watch watch;
  private final Contender me;
  private final ContentionPolicy policy;
  private final Session session;
  private final SessionPolicy sessionPolicy;
  private Registration sessionListener; // guarded by this
  private FreshWatch waiting; // guarded by this
  private Object waitToken; // guarded by this: the current wait (set before its watch starts)
  private Turn waitSpec; // guarded by this: what the current wait waits for
  private int round; // guarded by this: only the newest read decides
  private int reads; // guarded by this
  private boolean waitingForSession; // guarded by this
  private final boolean once;
  private final RoundRetry retry;

  private Contention(KV kv, Watch watch, Contender me, ContentionPolicy policy, Session session,
                     SessionPolicy sessionPolicy, boolean once) {
    this.kv = Objects.requireNonNull(kv, "kv");
    this.watch = Objects.requireNonNull(watch, "watch");
    this.me = Objects.requireNonNull(me, "me");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.session = session;
    this.sessionPolicy = sessionPolicy;
    this.once = once;
    this.retry = session == null || once ? null : new RoundRetry(session, future());
  }

  /** Starts waiting for {@code me}'s turn, without watching a session. */
  public static Contention start(KV kv, Watch watch, Contender me, ContentionPolicy policy) {
    Contention c = new Contention(kv, watch, me, policy, null, null, false);
    c.nextRound();
    return c;
  }

  /**
   * Starts waiting for {@code me}'s turn on behalf of {@code session}: fails when it is lost, and owns only while
   * it is usable under {@code sessionPolicy}.
   */
  public static Contention start(KV kv, Watch watch, Contender me, ContentionPolicy policy, Session session,
                                 SessionPolicy sessionPolicy) {
    return start(kv, watch, me, policy, session, sessionPolicy, false);
  }

  /**
   * As {@link #start(KV, Watch, Contender, ContentionPolicy, Session, SessionPolicy)}; with {@code once}, decides
   * from one read and never waits: completes with {@code null} when it is not {@code me}'s turn.
   */
  public static Contention start(KV kv, Watch watch, Contender me, ContentionPolicy policy, Session session,
                                 SessionPolicy sessionPolicy, boolean once) {
    Contention c = new Contention(kv, watch, me, policy, Objects.requireNonNull(session, "session"),
        Objects.requireNonNull(sessionPolicy, "sessionPolicy"), once);
    Registration r = session.addListener((s, state) -> c.sessionChanged(state));
    boolean closeNow;
    synchronized (c) {
      closeNow = c.isDone();
      if (!closeNow) {
        c.sessionListener = r;
      }
    }
    if (closeNow) {
      r.close();
    } else if (session.state() == SessionState.LOST) {
      c.fail(session.lostCause());
    } else {
      c.nextRound();
    }
    return c;
  }

  /** How many reads this wait made (1 when the first read found the contender owning). */
  public synchronized int rounds() {
    return reads;
  }

  /** The contender this wait is for. */
  public Contender contender() {
    return me;
  }

  private void sessionChanged(SessionState state) {
    if (state == SessionState.LOST) {
      fail(session.lostCause());
      return;
    }
    boolean retry;
    synchronized (this) {
      retry = waitingForSession && sessionPolicy.isUsable(state);
      if (retry) {
        waitingForSession = false;
      }
    }
    if (retry) {
      nextRound();
    }
  }

  private void nextRound() {
    int myRound;
    synchronized (this) {
      if (isDone()) {
        return;
      }
      myRound = ++round;
      reads++;
    }
    List<Op> reads;
    try {
      reads = new ArrayList<>(policy.reads(me));
    } catch (RuntimeException e) { // a policy that throws fails the wait; it must never leave it hanging
      fail(e);
      return;
    }
    reads.add(Op.get(me.key()));
    kv.txn().then(reads.toArray(new Op[0])).commit().whenComplete((r, t) -> {
      if (t != null) {
        failed(myRound, t);
      } else {
        decided(myRound, r);
      }
    });
  }

  private void decided(int myRound, TxnResponse r) {
    synchronized (this) {
      if (myRound != round || isDone()) {
        return; // a newer read is deciding
      }
    }
    int n = r.responses().size();
    KeyValue mine = r.getResponse(n - 1).first();
    if (mine == null || mine.createRevision() != me.createRevision()) {
      fail(new OwnershipLostException(me.key(), me.createRevision(), OwnershipLostException.Reason.KEY_GONE,
          "the contender's key is gone while it waited (its session's lease expired, or it was deleted)", null));
      return;
    }
    List<GetResponse> results = new ArrayList<>(n - 1);
    for (int i = 0; i < n - 1; i++) {
      results.add(r.getResponse(i));
    }
    Turn turn;
    try {
      turn = Objects.requireNonNull(policy.decide(me, results), "turn");
    } catch (RuntimeException e) {
      fail(e);
      return;
    }
    if (once && !(turn instanceof Turn.Owns && (session == null || session.isUsable(sessionPolicy)))) {
      complete(null);
      return;
    }
    if (turn instanceof Turn.Owns) {
      stopWaiting();
      if (session != null && !session.isUsable(sessionPolicy)) {
        boolean lost = session.state() == SessionState.LOST;
        synchronized (this) {
          waitingForSession = !lost;
        }
        if (lost) {
          fail(session.lostCause());
        } else if (session.isUsable(sessionPolicy)) { // recovered between the check and the flag
          sessionChanged(session.state());
        }
        return;
      }
      complete(r.header());
      return;
    }
    Object token = new Object();
    synchronized (this) {
      if (waitToken != null && waitSpec.equals(turn) && (waiting == null || !waiting.isOver())) {
        return; // the read after the watch was created asks for the same thing: the watch covers the rest
      }
    }
    stopWaiting();
    synchronized (this) { // published before the watch starts: its callbacks may run before start() returns
      if (isDone()) {
        return;
      }
      waitToken = token;
      waitSpec = turn;
    }
    Runnable confirm = () -> confirm(token);
    Runnable wake = () -> woken(token);
    FreshWatch fw;
    if (turn instanceof Turn.AwaitDelete d) {
      long ahead = createRevisionOf(d.key(), results);
      fw = FreshWatch.start(watch, turn, d.key(), WatchOption.builder().noPut().build(),
          e -> e.type() == WatchEvent.Type.DELETE, confirm, wake, e -> watchFailed(token, e),
          ahead == 0 ? null : new FreshWatch.Recheck(kv, ahead, r.header().revision()));
    } else if (turn instanceof Turn.AwaitChange c) {
      fw = FreshWatch.start(watch, turn, c.key(), WatchOption.DEFAULT, e -> true, confirm, wake,
          e -> watchFailed(token, e), null);
    } else {
      Turn.AwaitOlderDelete o = (Turn.AwaitOlderDelete) turn;
      fw = FreshWatch.start(watch, turn, o.prefix(), WatchOption.builder().prefix().noPut().prevKv().build(),
          e -> e.type() == WatchEvent.Type.DELETE
              && (e.prevKv() == null || e.prevKv().createRevision() < me.createRevision()),
          confirm, wake, e -> watchFailed(token, e), null);
    }
    boolean closeNow;
    synchronized (this) {
      closeNow = waitToken != token || isDone(); // woken, replaced or ended meanwhile
      if (!closeNow) {
        waiting = fw;
      }
    }
    if (closeNow) {
      fw.close();
    }
  }

  /** A round's read failed: retried after a backoff when transient (see the class comment), else the wait fails. */
  private void failed(int myRound, Throwable t) {
    synchronized (this) {
      if (myRound != round || isDone()) {
        return; // a newer round is deciding
      }
    }
    if (retry == null) {
      fail(Blocking.unwrap(t));
    } else {
      retry.again(t, this::nextRound);
    }
  }

  /** The current wait's watch failed: as {@link #failed}, after dropping the watch. */
  private void watchFailed(Object token, Throwable t) {
    synchronized (this) {
      if (waitToken != token || isDone()) {
        return;
      }
    }
    if (retry == null || !Outcomes.isTransient(Blocking.unwrap(t))) {
      fail(Blocking.unwrap(t));
      return;
    }
    stopWaiting();
    retry.again(t, this::nextRound);
  }

  /** The create revision of {@code key} in the round's reads (the policy named it from them); 0 if not there. */
  private static long createRevisionOf(ByteSequence key, List<GetResponse> results) {
    for (GetResponse g : results) {
      for (KeyValue kv : g.kvs()) {
        if (kv.key().equals(key)) {
          return kv.createRevision();
        }
      }
    }
    return 0;
  }

  /** The watch is in place: read again (what happened before it is in the read, what happens after, in the watch). */
  private void confirm(Object token) {
    synchronized (this) {
      if (waitToken != token || isDone()) {
        return;
      }
    }
    nextRound();
  }

  private void woken(Object token) {
    FreshWatch fw;
    synchronized (this) {
      if (waitToken != token || isDone()) {
        return;
      }
      fw = waiting; // null if start() has not returned yet: it closes the watch itself then
      waiting = null;
      waitToken = null;
      waitSpec = null;
    }
    if (fw != null) {
      fw.close();
    }
    nextRound();
  }

  private void stopWaiting() {
    FreshWatch fw;
    synchronized (this) {
      fw = waiting;
      waiting = null;
      waitToken = null;
      waitSpec = null;
    }
    if (fw != null) {
      fw.close();
    }
  }

  @Override
  protected void release() {
    FreshWatch fw;
    Registration r;
    synchronized (this) {
      fw = waiting;
      waiting = null;
      waitToken = null;
      waitSpec = null;
      r = sessionListener;
      sessionListener = null;
      round++;
    }
    if (fw != null) {
      fw.close();
    }
    if (r != null) {
      r.close();
    }
  }
}
