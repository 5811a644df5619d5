package io.etcdrecipes.queue;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.recipes.Contender;
import io.etcdrecipes.recipes.ContentionPolicy;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Registration;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionLostException;
import io.etcdrecipes.recipes.SessionState;
import io.etcdrecipes.recipes.UniqueKey;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.Fences;
import io.etcdrecipes.recipes.internal.KeyCleanup;
import io.etcdrecipes.recipes.internal.Outcomes;
import io.etcdrecipes.recipes.internal.SharedExecutors;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One dequeue, from start to an item or to giving up with nothing taken. The oldest free item is always the one
 * taken (FIFO), and only one consumer at a time tries to take when several wait, so nobody races and nobody is woken
 * for nothing:
 *
 * <ol>
 *   <li><b>Fast path.</b> One read of the first items and of the line of waiting consumers; if nobody waits in line
 *       and an item is free, take it (one more round trip).</li>
 *   <li><b>The line.</b> Otherwise join the line: a key {@code __name/consumers/<nanos>} on the session's lease. A
 *       consumer that is not first watches only the delete of the one right ahead of it ({@link TakerWait}). The first
 *       reads the items: it takes the oldest free one in a transaction that also deletes its line key (so the next
 *       consumer is woken by that delete, exactly when there is someone's turn to take), or, when none is free,
 *       watches for a new item (and, reliable, for a claim that ended).</li>
 * </ol>
 *
 * <p>Rounds (a read and what it decides) never overlap a take: a take is decided under the lock only by the newest
 * round, and no round starts while a take is in flight; the take's answer decides what comes next. An item won is
 * never dropped: when the caller gave up or the take failed meanwhile, it is handed over late (a deadline that passed
 * during the take) or given back. Creates with an unknown outcome (a line key, a reliable claim) are fenced
 * ({@link Fences}) before they are deleted, so one applied late cannot leave a key behind.
 */
final class Taker<T> {

  private static final int FIRST_BATCH = 16;
  private static final int MAX_BATCH = 4096;
  private static final long FIRST_RETRY_MILLIS = 50;
  private static final long MAX_RETRY_MILLIS = 1_000;

  private final QueueLayout layout;
  private final Session session;
  private final ClaimRule<T> rule;
  private final KV kv;
  private final CompletableFuture<T> result = new CompletableFuture<>();
  private final boolean waits;
  private volatile ByteSequence fence; // a new one for each join after a join's answer was lost
  private final TakerWait wait;
  private long retryMillis = FIRST_RETRY_MILLIS; // guarded by this

  // guarded by this
  private Contender line;
  private boolean joining;
  private boolean claiming; // a take in flight, or its item being handed over
  private boolean givingUp;
  private boolean failing; // fail() has begun: nothing new starts
  private CompletableFuture<T> late;
  private boolean keepLate;
  private int round;
  private int batch = FIRST_BATCH;
  private ByteSequence itemsStart; // where the items are read from: past 4096 claimed ones, page on
  private int pollTries;
  private Registration sessionListener;

  /** {@code waits}: false for a poll (give up when nothing is free at once). */
  private Taker(QueueLayout layout, Session session, ClaimRule<T> rule, boolean waits) {
    this.layout = layout;
    this.session = session;
    this.rule = rule;
    this.kv = session.client().kv();
    this.waits = waits;
    this.fence = Fences.newFence(session);
    this.itemsStart = layout.itemsFrom;
    this.wait = new TakerWait(session.client().watch(), this::waitEnded, this::waitFailed);
  }

  static <T> Taker<T> start(QueueLayout layout, Session session, ClaimRule<T> rule, boolean waits) {
    SessionLostException lost = session.lostCause();
    if (lost != null) {
      throw lost;
    }
    Taker<T> t = new Taker<>(layout, session, rule, waits);
    Registration r = session.addListener((s, state) -> {
      if (state == SessionState.LOST) {
        t.fail(s.lostCause());
      }
    });
    synchronized (t) {
      t.sessionListener = r;
    }
    t.fastPath();
    return t;
  }

  /** The item (null only for a poll that found nothing free). */
  CompletableFuture<T> result() {
    return result;
  }

  // ------------------------------------------------------------------------------------------------ the steps

  private synchronized Op itemsRead() {
    return Op.get(itemsStart, GetOption.builder().range(layout.itemsTo).limit(batch).build());
  }

  private void fastPath() {
    if (stopped()) {
      return;
    }
    List<Op> reads = new ArrayList<>();
    reads.add(itemsRead());
    reads.add(Op.get(layout.consumers, GetOption.builder().prefix().keysOnly().limit(1).build()));
    reads.addAll(rule.extraReads());
    kv.txn().then(reads.toArray(new Op[0])).commit().whenComplete((r, e) -> {
      if (e != null) {
        retryOrFail(e, this::fastPath);
        return;
      }
      boolean lineBusy = !r.getResponse(1).isEmpty();
      // a consumer that would wait goes behind those already waiting; a poll takes what is free now
      ClaimRule.Take<T> take = lineBusy && waits ? null : first(r, 0, 2);
      if (take != null) {
        claim(take, null, -1);
      } else if ((!lineBusy || !waits) && needsMore(r.getResponse(0))) {
        fastPath();
      } else if (!waits) {
        finish(null); // a poll: nothing free now
      } else {
        join();
      }
    });
  }

  /** The first free item from the items at {@code itemsAt} and the extra reads from {@code extrasFrom} on. */
  private ClaimRule.Take<T> first(TxnResponse r, int itemsAt, int extrasFrom) {
    List<GetResponse> extras = new ArrayList<>();
    for (int i = extrasFrom; i < extrasFrom + rule.extraReads().size(); i++) {
      extras.add(r.getResponse(i));
    }
    return rule.first(r.getResponse(itemsAt).kvs(), extras);
  }

  /**
   * Every item read was taken already (claimed) but there are more: read a bigger batch next time, and past
   * {@link #MAX_BATCH} the next page.
   */
  private synchronized boolean needsMore(GetResponse items) {
    if (!items.more() || items.kvs().isEmpty()) {
      return false;
    }
    if (batch < MAX_BATCH) {
      batch *= 2;
    } else {
      itemsStart = items.kvs().get(items.kvs().size() - 1).key().concat(ByteSequence.of(new byte[] {0}));
    }
    return true;
  }

  private void join() {
    synchronized (this) {
      if (stoppedLocked()) {
        return;
      }
      joining = true;
    }
    ByteSequence key = UniqueKey.next(layout.consumers.substring(0, layout.consumers.size() - 1));
    kv.txn().when(Compare.version(key).equal(0), Fences.notRaised(fence))
        .then(Op.put(key, ByteSequence.EMPTY, PutOption.lease(session.leaseId()))).commit().whenComplete((r, e) -> {
          boolean leave;
          boolean rejoin;
          synchronized (this) {
            joining = false;
            if (e == null && r.succeeded()) {
              line = new Contender(key, r.header().revision());
            }
            leave = stoppedLocked();
            rejoin = e != null && !leave && retries(e);
            if (rejoin) {
              joining = true; // still joining: the cleanup below is part of it (a give-up waits for it)
            }
          }
          if (rejoin) {
            rejoinAfterCleanup(key, e);
            return;
          }
          if (e != null) {
            CompletableFuture<?> cleaned = Outcomes.mayHaveApplied(e)
                ? KeyCleanup.deleteAfterFence(kv, session, fence, key, () -> { })
                : CompletableFuture.completedFuture(null);
            fail(Blocking.unwrap(e));
            cleaned.whenComplete((v, x) -> completeLate());
          } else if (!r.succeeded()) {
            if (leave) {
              completeLate();
            } else {
              join(); // the name was taken: another one
            }
          } else if (leave) {
            leaveLine().whenComplete((v, x) -> completeLate());
          } else {
            lineRound();
          }
        });
  }

  private void lineRound() {
    Contender me;
    int myRound;
    synchronized (this) {
      if (stoppedLocked() || claiming || line == null) {
        return; // a take in flight decides what comes next
      }
      me = line;
      myRound = ++round;
    }
    List<Op> reads = new ArrayList<>();
    reads.add(ContentionPolicy.youngestOlder(layout.consumers, me));
    reads.add(itemsRead());
    reads.addAll(rule.extraReads());
    reads.add(Op.get(me.key()));
    kv.txn().then(reads.toArray(new Op[0])).commit().whenComplete((r, e) -> {
      if (!isCurrent(myRound)) {
        return; // a newer read, or a take, decides (a stale read's failure too: a take may be in flight)
      }
      if (e != null) {
        retryOrFail(e, this::lineRound);
        return;
      }
      KeyValue mine = r.getResponse(r.responses().size() - 1).first();
      if (mine == null || mine.createRevision() != me.createRevision()) {
        fail(session.state() == SessionState.LOST ? session.lostCause()
            : new OwnershipLostException(me.key(), me.createRevision(), OwnershipLostException.Reason.KEY_GONE,
                "this consumer's place in line is gone (its session's lease expired, or it was deleted)", null));
        return;
      }
      KeyValue ahead = r.getResponse(0).first();
      if (ahead != null) { // wait for the one ahead to leave the line
        startWait(myRound, List.of("ahead", ahead.key()), List.of(new TakerWait.Target(ahead.key(),
            WatchOption.builder().noPut().build(), ev -> ev.type() == WatchEvent.Type.DELETE)));
        return;
      }
      ClaimRule.Take<T> take = first(r, 1, 2);
      if (take != null) {
        claim(take, me, myRound);
      } else if (needsMore(r.getResponse(1))) {
        lineRound();
      } else { // first in line and nothing free: a new item, or (reliable) a claim that ended
        List<TakerWait.Target> targets = new ArrayList<>();
        targets.add(new TakerWait.Target(layout.itemsFrom,
            WatchOption.builder().range(layout.itemsTo).noDelete().build(), ev -> ev.kv().version() == 1));
        ByteSequence freed = rule.freedRange();
        if (freed != null) {
          targets.add(new TakerWait.Target(freed, WatchOption.builder().prefix().noPut().build(), ev -> true));
        }
        synchronized (this) {
          itemsStart = layout.itemsFrom; // the read once the watches are created starts from the head again
        }
        startWait(myRound, "items", targets);
      }
    });
  }

  private synchronized boolean isCurrent(int myRound) {
    return myRound == round && !claiming && !stoppedLocked();
  }

  private void startWait(int myRound, Object spec, List<TakerWait.Target> targets) {
    if (isCurrent(myRound)) {
      wait.start(spec, targets);
    }
  }

  /**
   * A join whose answer was lost, transiently: raise the fence and delete the key it may have made — until it is gone,
   * and counted as part of the join ({@code joining}), so that a give-up meanwhile waits for it rather than leave the
   * key behind — then join again, with a new fence, after the backoff.
   */
  private void rejoinAfterCleanup(ByteSequence key, Throwable e) {
    ByteSequence raised = fence;
    KeyCleanup.untilGone(after -> KeyCleanup.deleteAfterFence(kv, session, raised, key, after)).whenComplete((v, x) -> {
      boolean stop;
      synchronized (this) {
        joining = false;
        stop = stoppedLocked();
      }
      if (stop) {
        completeLate(); // a give-up waited for this cleanup
        return;
      }
      fence = Fences.newFence(session);
      later(this::join, e);
    });
  }

  /**
   * Whether a step that failed with {@code e} runs again (docs/conventions.md: waits ride through transient failures
   * within the caller's deadline): a waiting take, a transient failure, a session not lost, nothing stopping.
   */
  private boolean retries(Throwable e) {
    return waits && Outcomes.isTransient(Blocking.unwrap(e)) && session.state() != SessionState.LOST && !stopped();
  }

  /** Runs {@code step} again after the backoff (50 ms doubling to 1 s) when {@link #retries}, else fails the call. */
  private void retryOrFail(Throwable e, Runnable step) {
    if (retries(e)) {
      later(step, e);
    } else {
      SessionLostException lost = session.lostCause(); // lost: say so, not the call's error
      fail(lost != null ? lost : Blocking.unwrap(e));
    }
  }

  private void later(Runnable step, Throwable e) {
    long delay;
    synchronized (this) {
      delay = retryMillis;
      retryMillis = Math.min(MAX_RETRY_MILLIS, retryMillis * 2);
    }
    try {
      SharedExecutors.timer().schedule(() -> {
        if (!stopped()) {
          step.run();
        }
      }, delay, TimeUnit.MILLISECONDS);
    } catch (RuntimeException refused) { // shutting down
      fail(Blocking.unwrap(e));
    }
  }

  /** A watch of the wait failed: read again after the backoff when transient, else fail. */
  private void waitFailed(Throwable e) {
    if (retries(e)) {
      wait.stop();
      later(this::lineRound, e);
    } else {
      fail(e);
    }
  }

  /** The wait's watches are in place, or one of them fired: read again. */
  private void waitEnded() {
    lineRound();
  }

  /**
   * Takes an item; {@code me} (when in line, deciding in round {@code myRound}) leaves the line in the same
   * transaction. Refused when a newer round or another take has begun meanwhile.
   */
  private void claim(ClaimRule.Take<T> take, Contender me, int myRound) {
    List<Compare> when = new ArrayList<>(take.when());
    List<Op> then = new ArrayList<>(take.then());
    when.add(Fences.notRaised(fence));
    if (me != null) {
      when.add(Compare.createRevision(me.key()).equal(me.createRevision()));
      then.add(Op.delete(me.key()));
    }
    synchronized (this) {
      if (stoppedLocked() || claiming || (me != null && myRound != round)) {
        return;
      }
      claiming = true;
      round++; // a read in flight decides nothing now
    }
    wait.stop();
    kv.txn().when(when.toArray(new Compare[0])).then(then.toArray(new Op[0])).commit().whenComplete((r, e) -> {
      if (e == null) {
        if (!r.succeeded()) {
          landed(take, me, false, null, null);
          return;
        }
        T taken;
        try {
          taken = take.result().apply(r);
        } catch (RuntimeException ex) {
          landed(take, me, false, null, ex);
          return;
        }
        landed(take, me, true, taken, null);
      } else if (!Outcomes.mayHaveApplied(e)) {
        landed(take, me, false, null, Blocking.unwrap(e));
      } else if (take.leasedKey() != null) { // a claim: fence it, delete it if it was made; the item comes again
        KeyCleanup.deleteAfterFence(kv, session, fence, take.leasedKey(), () -> { });
        landed(take, me, false, null, Blocking.unwrap(e));
      } else if (me != null) {
        recoverTake(take, me, Blocking.unwrap(e));
      } else { // a plain take on the fast path: the item is ours or gone (at most once)
        landed(take, me, false, null, Blocking.unwrap(e));
      }
    });
  }

  /**
   * A plain take from the line whose answer was lost: raise the fence (it cannot apply any more) and, in the same
   * transaction, read our line key. The take deletes it; nothing else does while the lease lives (and the fence's
   * put proves it does) — so the key gone means the take applied and the item is ours.
   */
  private void recoverTake(ClaimRule.Take<T> take, Contender me, Throwable cause) {
    Fences.raiseAndRead(kv, session, fence, Op.get(me.key())).whenComplete((g, x) -> {
      fence = Fences.newFence(session); // raised: whatever comes next (a rejoin after a dead-letter move) needs a new one
      boolean applied = x == null && g != null && g.kvs().stream()
          .noneMatch(k -> k.createRevision() == me.createRevision());
      if (!applied) {
        landed(take, me, false, null, cause);
        return;
      }
      T taken;
      try {
        taken = take.result().apply(null); // a plain take's item does not depend on the response
      } catch (RuntimeException ex) {
        landed(take, me, false, null, ex);
        return;
      }
      landed(take, me, true, taken, null);
    });
  }

  /** What a take's answer decides: the item to the caller (or late, or back), or the next step. */
  private void landed(ClaimRule.Take<T> take, Contender me, boolean success, T taken, Throwable failure) {
    CompletableFuture<T> lateTake;
    boolean keep;
    boolean handing = success && taken != null;
    boolean failed;
    synchronized (this) {
      if (success && me != null) {
        line = null; // deleted in the same transaction
      }
      lateTake = late;
      keep = keepLate;
      failed = failing && lateTake == null;
      claiming = handing && lateTake == null; // still "in flight" for giveUp until handed over
    }
    if (lateTake != null) { // the caller gave up meanwhile
      if (handing) {
        if (!keep || !lateTake.complete(taken)) {
          rule.undo(taken).whenComplete((v, x) -> lateTake.complete(null));
        }
      } else {
        leaveLine().whenComplete((v, x) -> lateTake.complete(null));
      }
      return;
    }
    if (failed) { // failed while the take was in flight: the line key was left for now, as the take may delete it
      if (handing) {
        finish(taken); // back into the queue
      } else {
        leaveLine();
      }
      return;
    }
    if (failure != null) {
      fail(failure);
    } else if (!success) {
      if (me != null) {
        lineRound();
      } else if (waits) {
        join(); // someone else took it first: wait in line
      } else if (morePollTries()) {
        fastPath(); // a poll: the next item may be free
      } else {
        finish(null);
      }
    } else if (taken == null) { // dead-lettered: go on
      if (me == null) {
        fastPath();
      } else {
        join();
      }
    } else {
      finish(taken);
    }
  }

  private synchronized boolean morePollTries() {
    return ++pollTries < 8;
  }

  // ------------------------------------------------------------------------------------------ ending

  private synchronized boolean stopped() {
    return stoppedLocked();
  }

  private boolean stoppedLocked() {
    return givingUp || failing || result.isDone();
  }

  private void finish(T value) {
    cleanup();
    if (!result.complete(value) && value != null) {
      handOverLate(value);
    }
  }

  /** An item won after the result was ended (given up, failed): to the caller if it still wants it, else back. */
  private void handOverLate(T value) {
    CompletableFuture<T> l;
    boolean keep;
    synchronized (this) {
      l = late;
      keep = keepLate;
      claiming = false; // a giveUp from now on finds nothing in flight and completes its own future
    }
    if (l != null && keep && l.complete(value)) {
      return;
    }
    rule.undo(value).whenComplete((v, x) -> {
      if (l != null) {
        l.complete(null);
      }
    });
  }

  private void completeLate() {
    CompletableFuture<T> l;
    synchronized (this) {
      l = late;
    }
    if (l != null) {
      l.complete(null);
    }
  }

  /**
   * Ends the call with {@code t}. With a take in flight the line key stays until the take lands: the take deletes
   * it, and {@link #recoverTake} reads "the key is gone" as "the take applied" — a delete from here would turn an
   * item that is still in the queue into one handed to us (and given back: a copy).
   */
  private void fail(Throwable t) {
    boolean takeInFlight;
    synchronized (this) {
      if (failing || result.isDone()) {
        return;
      }
      failing = true;
      takeInFlight = claiming;
    }
    if (!takeInFlight) {
      leaveLine();
    }
    cleanup();
    result.completeExceptionally(t);
  }

  private void cleanup() {
    Registration r;
    synchronized (this) {
      round++;
      r = sessionListener;
      sessionListener = null;
    }
    wait.close();
    if (r != null) {
      r.close();
    }
  }

  /** Deletes our line key, if we are in line. */
  private CompletableFuture<Void> leaveLine() {
    Contender me;
    synchronized (this) {
      me = line;
      line = null;
    }
    if (me == null) {
      return CompletableFuture.completedFuture(null);
    }
    return KeyCleanup.deleteGuarded(kv, session, me, () -> { }).handle((b, e) -> null);
  }

  /**
   * Gives up: stops waiting and leaves the line. Completes with an item only when a take was in flight, won, and
   * {@code keep}; a won item not kept is given back. Completes with null otherwise, once nothing is left behind.
   * Idempotent: a second call returns the first one's future (and gives nothing back twice).
   */
  CompletableFuture<T> giveUp(boolean keep) {
    CompletableFuture<T> l = new CompletableFuture<>();
    boolean inFlight;
    synchronized (this) {
      if (givingUp) {
        return late;
      }
      givingUp = true;
      keepLate = keep;
      inFlight = claiming || joining; // its answer completes l
      late = l;
    }
    cleanup();
    result.cancel(false);
    if (!result.isCompletedExceptionally()) { // it was handed over just before
      T v = result.getNow(null);
      if (keep || v == null) {
        l.complete(v);
      } else {
        rule.undo(v).whenComplete((x, e) -> l.complete(null));
      }
      return l;
    }
    // a take or join in flight completes l when it lands (and leaves the line then: deleting the line key under a
    // take in flight would mislead recoverTake), also when the result had failed before
    if (!inFlight) {
      leaveLine().whenComplete((v, e) -> l.complete(null));
    }
    return l;
  }
}
