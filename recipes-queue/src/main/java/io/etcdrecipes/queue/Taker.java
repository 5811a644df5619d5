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
import io.etcdrecipes.recipes.Registration;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionState;
import io.etcdrecipes.recipes.UniqueKey;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.FreshWatch;
import io.etcdrecipes.recipes.internal.KeyCleanup;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * One dequeue, from start to an item or to giving up with nothing taken. The oldest free item is always the one
 * taken (FIFO), and only one consumer at a time tries to take when several wait, so nobody races and nobody is woken
 * for nothing:
 *
 * <ol>
 *   <li><b>Fast path.</b> One read of the first items and of the line of waiting consumers; if nobody waits in line
 *       and an item is free, take it (one more round trip).</li>
 *   <li><b>The line.</b> Otherwise join the line: a key {@code __name/consumers/<nanos>} on the session's lease. A
 *       consumer that is not first watches only the delete of the one right ahead of it (every wait is a watch from
 *       now, then a read once etcd created it: etcd serves such a watch at once). The first reads the items:
 *       it takes the oldest free one in a transaction that also deletes its line key (so the next consumer is woken
 *       by that delete, exactly when there is someone's turn to take), or, when none is free, watches for a new item
 *       (and, reliable, for a claim that ended).</li>
 * </ol>
 *
 * Giving up (timeout, interrupt, cancel) leaves the line; a take that was in flight is waited for: its item is
 * handed over late when the caller still wants it, else given back.
 */
final class Taker<T> {

  private static final int FIRST_BATCH = 16;
  private static final int MAX_BATCH = 4096;

  private final QueueLayout layout;
  private final Session session;
  private final ClaimRule<T> rule;
  private final KV kv;
  private final CompletableFuture<T> result = new CompletableFuture<>();
  private final boolean waits;

  // guarded by this
  private Contender line;
  private boolean joining;
  private boolean claiming;
  private boolean givingUp;
  private CompletableFuture<T> late;
  private boolean keepLate;
  /** The current wait: its watches (from now), what it waits for, and how many are not created yet. */
  private final List<FreshWatch> waitWatches = new ArrayList<>();
  private Object waitSpec;
  private Object waitToken;
  private int waitsToCreate;
  private int round;
  private int batch = FIRST_BATCH;
  private int pollTries;
  private Registration sessionListener;

  /** {@code waits}: false for a poll (give up when nothing is free at once). */
  private Taker(QueueLayout layout, Session session, ClaimRule<T> rule, boolean waits) {
    this.layout = layout;
    this.session = session;
    this.rule = rule;
    this.kv = session.client().kv();
    this.waits = waits;
  }

  static <T> Taker<T> start(QueueLayout layout, Session session, ClaimRule<T> rule, boolean waits) {
    io.etcdrecipes.recipes.SessionLostException lost = session.lostCause();
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

  private Op itemsRead() {
    int limit;
    synchronized (this) {
      limit = batch;
    }
    return Op.get(layout.itemsFrom, GetOption.builder().range(layout.itemsTo).limit(limit).build());
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
        fail(Blocking.unwrap(e));
        return;
      }
      boolean lineBusy = !r.getResponse(1).isEmpty();
      // a consumer that would wait goes behind those already waiting; a poll takes what is free now
      ClaimRule.Take<T> take = lineBusy && waits ? null : first(r, 0, 2);
      if (take != null) {
        claim(take, null);
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

  /** Every item read was taken already (claimed) but there are more: read a bigger batch next time. */
  private synchronized boolean needsMore(GetResponse items) {
    if (items.more() && batch < MAX_BATCH) {
      batch *= 2;
      return true;
    }
    return false;
  }

  private void join() {
    synchronized (this) {
      if (givingUp || result.isDone()) {
        return;
      }
      joining = true;
    }
    ByteSequence key = UniqueKey.next(layout.consumers.substring(0, layout.consumers.size() - 1));
    kv.txn().when(Compare.version(key).equal(0))
        .then(Op.put(key, ByteSequence.EMPTY, PutOption.lease(session.leaseId()))).commit().whenComplete((r, e) -> {
          boolean leave;
          synchronized (this) {
            joining = false;
            if (e == null && r.succeeded()) {
              line = new Contender(key, r.header().revision());
            }
            leave = givingUp || result.isDone();
          }
          if (e != null) {
            // the key may exist (unknown outcome): it is on our lease, delete it if so
            KeyCleanup.deleteIfOnLease(kv, session, key, () -> { });
            fail(Blocking.unwrap(e));
          } else if (!r.succeeded()) {
            join(); // the name was taken: another one
          } else if (leave) {
            CompletableFuture<T> l;
            synchronized (this) {
              l = late;
            }
            leaveLine().whenComplete((v, x) -> {
              if (l != null) {
                l.complete(null);
              }
            });
          } else {
            lineRound();
          }
        });
  }

  private void lineRound() {
    Contender me;
    int myRound;
    synchronized (this) {
      if (stoppedLocked()) {
        return;
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
      if (e != null) {
        fail(Blocking.unwrap(e));
        return;
      }
      synchronized (this) {
        if (myRound != round) {
          return; // a newer read decides
        }
      }
      KeyValue mine = r.getResponse(r.responses().size() - 1).first();
      if (mine == null || mine.createRevision() != me.createRevision()) {
        fail(session.state() == SessionState.LOST ? session.lostCause()
            : new io.etcdrecipes.recipes.OwnershipLostException(me.key(), me.createRevision(),
                io.etcdrecipes.recipes.OwnershipLostException.Reason.KEY_GONE,
                "this consumer's place in line is gone (its session's lease expired, or it was deleted)", null));
        return;
      }
      KeyValue ahead = r.getResponse(0).first();
      if (ahead != null) { // wait for the one ahead to leave the line
        waitFor(List.of("ahead", ahead.key()), List.of(new Target(ahead.key(), WatchOption.builder().noPut().build(),
            ev -> ev.type() == WatchEvent.Type.DELETE)));
        return;
      }
      ClaimRule.Take<T> take = first(r, 1, 2);
      if (take != null) {
        stopWaiting();
        claim(take, me);
      } else if (needsMore(r.getResponse(1))) {
        lineRound();
      } else { // first in line and nothing free: a new item, or (reliable) a claim that ended
        List<Target> targets = new ArrayList<>();
        targets.add(new Target(layout.itemsFrom, WatchOption.builder().range(layout.itemsTo).noDelete().build(),
            ev -> ev.kv().version() == 1));
        ByteSequence freed = rule.freedRange();
        if (freed != null) {
          targets.add(new Target(freed, WatchOption.builder().prefix().noPut().build(), ev -> true));
        }
        waitFor("items", targets);
      }
    });
  }

  /** One watch of a wait: what to watch and which event ends the wait. */
  private record Target(ByteSequence key, WatchOption option, Predicate<WatchEvent> wakes) {}

  /**
   * Waits with watches from now ({@link FreshWatch}): once all are created, reads again (whatever happened before
   * them is in that read); an event ends the wait and reads again. A read that asks for the same wait keeps it.
   */
  private void waitFor(Object spec, List<Target> targets) {
    Object token = new Object();
    synchronized (this) {
      if (stoppedLocked()) {
        return;
      }
      if (spec.equals(waitSpec) && waitWatches.stream().noneMatch(FreshWatch::isOver)) {
        return; // the read after the watches were created asks for the same thing: they cover the rest
      }
    }
    stopWaiting();
    List<FreshWatch> started = new ArrayList<>();
    synchronized (this) {
      waitSpec = spec;
      waitToken = token;
      waitsToCreate = targets.size();
    }
    for (Target t : targets) {
      started.add(FreshWatch.start(session.client().watch(), spec, t.key(), t.option(), t.wakes(),
          () -> waitCreated(token), () -> waitWoken(token), this::fail));
    }
    boolean closeNow;
    synchronized (this) {
      closeNow = waitToken != token || stoppedLocked();
      if (!closeNow) {
        waitWatches.addAll(started);
      }
    }
    if (closeNow) {
      started.forEach(FreshWatch::close);
    }
  }

  private void waitCreated(Object token) {
    synchronized (this) {
      if (waitToken != token || stoppedLocked() || --waitsToCreate > 0) {
        return;
      }
    }
    lineRound();
  }

  private void waitWoken(Object token) {
    synchronized (this) {
      if (waitToken != token || stoppedLocked()) {
        return;
      }
    }
    stopWaiting();
    lineRound();
  }

  private void stopWaiting() {
    List<FreshWatch> toClose;
    synchronized (this) {
      toClose = new ArrayList<>(waitWatches);
      waitWatches.clear();
      waitSpec = null;
      waitToken = null;
    }
    toClose.forEach(FreshWatch::close);
  }

  /** Takes an item; {@code me} (when in line) leaves the line in the same transaction. */
  private void claim(ClaimRule.Take<T> take, Contender me) {
    List<Compare> when = new ArrayList<>(take.when());
    List<Op> then = new ArrayList<>(take.then());
    if (me != null) {
      when.add(Compare.createRevision(me.key()).equal(me.createRevision()));
      then.add(Op.delete(me.key()));
    }
    synchronized (this) {
      if (givingUp || result.isDone()) {
        return;
      }
      claiming = true;
    }
    kv.txn().when(when.toArray(new Compare[0])).then(then.toArray(new Op[0])).commit().whenComplete((r, e) -> {
      T taken = null;
      boolean success = e == null && r.succeeded();
      if (success) {
        try {
          taken = take.result().apply(r);
        } catch (RuntimeException ex) {
          e = ex;
          success = false;
        }
      }
      CompletableFuture<T> lateTake;
      boolean keep;
      synchronized (this) {
        claiming = false;
        if (success && me != null) {
          line = null; // deleted in the same transaction
        }
        lateTake = late;
        keep = keepLate;
      }
      if (lateTake != null) { // the caller gave up meanwhile
        if (success && taken != null) {
          if (keep) {
            lateTake.complete(taken);
          } else {
            T back = taken;
            rule.undo(back).whenComplete((v, x) -> lateTake.complete(null));
          }
        } else {
          leaveLine().whenComplete((v, x) -> lateTake.complete(null));
        }
        return;
      }
      if (e != null) {
        fail(Blocking.unwrap(e));
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
    });
  }

  private synchronized boolean morePollTries() {
    return ++pollTries < 8;
  }

  // ------------------------------------------------------------------------------------------ ending

  private synchronized boolean stopped() {
    return stoppedLocked();
  }

  private boolean stoppedLocked() {
    return givingUp || result.isDone();
  }

  private void finish(T value) {
    cleanup();
    result.complete(value);
  }

  private void fail(Throwable t) {
    synchronized (this) {
      if (result.isDone()) {
        return;
      }
    }
    leaveLine();
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
    stopWaiting();
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
   */
  CompletableFuture<T> giveUp(boolean keep) {
    CompletableFuture<T> l = new CompletableFuture<>();
    boolean inFlight;
    boolean joiningNow;
    synchronized (this) {
      if (givingUp) {
        return late == null ? CompletableFuture.completedFuture(null) : late;
      }
      givingUp = true;
      keepLate = keep;
      inFlight = claiming;
      joiningNow = joining;
      late = l;
    }
    cleanup();
    if (result.isDone() && !result.isCompletedExceptionally()) { // it was handed over just before
      T v = result.getNow(null);
      if (keep || v == null) {
        l.complete(v);
      } else {
        rule.undo(v).whenComplete((x, e) -> l.complete(null));
      }
      return l;
    }
    result.cancel(false);
    if (!inFlight && !joiningNow) { // nothing in flight: leave the line now (a join in flight leaves when it lands)
      leaveLine().whenComplete((v, e) -> l.complete(null));
    }
    return l;
  }

  // --------------------------------------------------------------------------------------- blocking forms

  /** Waits at most {@code timeout}; an item whose take was in flight at the deadline is still handed over. */
  T await(Duration timeout, Duration callTimeout) throws InterruptedException, TimeoutException {
    try {
      return Blocking.await(result, timeout);
    } catch (TimeoutException e) {
      T v = awaitGiveUp(true, callTimeout);
      if (v != null) {
        return v;
      }
      throw e;
    } catch (InterruptedException e) {
      awaitGiveUp(false, callTimeout);
      throw e;
    }
  }

  T await(Duration callTimeout) throws InterruptedException {
    try {
      return Blocking.await(result);
    } catch (InterruptedException e) {
      awaitGiveUp(false, callTimeout);
      throw e;
    }
  }

  private T awaitGiveUp(boolean keep, Duration callTimeout) {
    boolean interrupted = Thread.interrupted();
    try {
      return giveUp(keep).get(Blocking.nanos(callTimeout.plusSeconds(1)), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      interrupted = true;
      return null;
    } catch (Exception e) {
      return null;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** A future of its own: cancelling it gives the take up (an item won meanwhile is given back). */
  CompletableFuture<T> asFuture() {
    CompletableFuture<T> f = new CompletableFuture<>();
    result.whenComplete((v, e) -> {
      if (e != null) {
        if (!(Blocking.unwrap(e) instanceof CancellationException)) {
          f.completeExceptionally(Blocking.unwrap(e));
        }
      } else if (!f.complete(v) && v != null) {
        rule.undo(v);
      }
    });
    f.whenComplete((v, e) -> {
      if (f.isCancelled()) {
        giveUp(false);
      }
    });
    return f;
  }
}
