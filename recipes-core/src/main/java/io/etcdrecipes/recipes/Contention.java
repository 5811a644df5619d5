package io.etcdrecipes.recipes;

import io.etcdrecipes.client.CompactedException;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.ResponseHeader;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.client.Watch;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.WatchResponse;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.recipes.internal.Blocking;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * The one wait loop of every queue-shaped recipe (mutex, read-write lock, semaphore, election): read, let the
 * {@link ContentionPolicy} decide, and either own or watch exactly the one thing it names, then read again.
 *
 * <p>Each round is one read-only transaction: the policy's reads plus a read of the contender's own key, which
 * must still exist with its create revision (etcd 3.4's server-side Lock and Go before 3.5 skip this check; a
 * session that expired while waiting would otherwise "own" with a key that is gone). The watch starts at the
 * round's revision + 1: the read already reflects that revision, and etcd serves a watch from an older revision
 * out of its 100 ms catch-up loop (the reason contended locks hand over at ~100 ms in Go and jetcd). A watch that
 * fails with compaction reads again. With a session, the wait fails with {@link SessionLostException} when it is
 * lost, and a contender whose turn comes while the session is not usable under the policy (suspended) waits for
 * it to recover or be lost: it never owns on a session it may not act for.
 *
 * <p>Completes with the header of the round that found the contender owning. Fails with
 * {@link OwnershipLostException} ({@code KEY_GONE}) when the contender's key vanished, or with the
 * {@link EtcdException} of a failed read or watch. {@link #close()} (or a timeout of {@code await}) gives up the
 * wait; deleting the contender's key is the recipe's job.
 */
public final class Contention extends Wait<ResponseHeader> {

  private final KV kv;
  private final Watch watch;
  private final Contender me;
  private final ContentionPolicy policy;
  private final Session session;
  private final SessionPolicy sessionPolicy;
  private Registration sessionListener; // guarded by this
  private Watcher watcher; // guarded by this
  private int round; // guarded by this: a watcher's events count only for the round that made it
  private int reads; // guarded by this
  private boolean waitingForSession; // guarded by this
  private final boolean once;

  private Contention(KV kv, Watch watch, Contender me, ContentionPolicy policy, Session session,
                     SessionPolicy sessionPolicy, boolean once) {
    this.kv = Objects.requireNonNull(kv, "kv");
    this.watch = Objects.requireNonNull(watch, "watch");
    this.me = Objects.requireNonNull(me, "me");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.session = session;
    this.sessionPolicy = sessionPolicy;
    this.once = once;
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
    List<Op> reads = new ArrayList<>(policy.reads(me));
    reads.add(Op.get(me.key()));
    kv.txn().then(reads.toArray(new Op[0])).commit().whenComplete((r, t) -> {
      if (t != null) {
        fail(Blocking.unwrap(t));
      } else {
        decided(myRound, r);
      }
    });
  }

  private void decided(int myRound, TxnResponse r) {
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
    long from = r.header().revision() + 1;
    if (once && !(turn instanceof Turn.Owns && (session == null || session.isUsable(sessionPolicy)))) {
      complete(null);
      return;
    }
    if (turn instanceof Turn.Owns) {
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
    } else if (turn instanceof Turn.AwaitDelete d) {
      watch(myRound, d.key(), WatchOption.builder().revision(from).noPut().build(),
          e -> e.type() == WatchEvent.Type.DELETE);
    } else if (turn instanceof Turn.AwaitChange c) {
      watch(myRound, c.key(), WatchOption.builder().revision(from).build(), e -> true);
    } else if (turn instanceof Turn.AwaitOlderDelete o) {
      watch(myRound, o.prefix(), WatchOption.builder().prefix().revision(from).noPut().prevKv().build(),
          e -> e.type() == WatchEvent.Type.DELETE
              && (e.prevKv() == null || e.prevKv().createRevision() < me.createRevision()));
    }
  }

  private void watch(int myRound, io.etcdrecipes.client.ByteSequence key, WatchOption option,
                     Predicate<WatchEvent> wakes) {
    Watcher w = watch.watch(key, option, new WatchListener() {
      @Override
      public void onNext(WatchResponse response) {
        for (WatchEvent e : response.events()) {
          if (wakes.test(e)) {
            roundEnded(myRound);
            return;
          }
        }
      }

      @Override
      public void onError(EtcdException error) {
        if (error instanceof CompactedException) {
          roundEnded(myRound); // what we waited for may be in the history we cannot see: read again
        } else {
          fail(error);
        }
      }
    });
    boolean closeNow;
    synchronized (this) {
      closeNow = isDone() || round != myRound;
      if (!closeNow) {
        watcher = w;
      }
    }
    if (closeNow) {
      w.close();
    }
  }

  private void roundEnded(int myRound) {
    Watcher w;
    synchronized (this) {
      if (round != myRound || isDone()) {
        return;
      }
      w = watcher;
      watcher = null;
    }
    if (w != null) {
      w.close();
    }
    nextRound();
  }

  @Override
  protected void release() {
    Watcher w;
    Registration r;
    synchronized (this) {
      w = watcher;
      watcher = null;
      r = sessionListener;
      sessionListener = null;
      round++;
    }
    if (w != null) {
      w.close();
    }
    if (r != null) {
      r.close();
    }
  }
}
