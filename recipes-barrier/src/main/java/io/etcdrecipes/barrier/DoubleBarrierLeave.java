package io.etcdrecipes.barrier;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.CompactedException;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.Txn;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.recipes.Contender;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionLostException;
import io.etcdrecipes.recipes.WaitForEvents;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.KeyCleanup;
import io.etcdrecipes.recipes.internal.Outcomes;
import io.etcdrecipes.recipes.internal.RoundRetry;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One {@link DoubleBarrier#leave} of one participant, in Go's algorithm: the participant whose key is oldest by mod
 * revision waits for the newest to go, the others delete theirs and wait for the oldest, and the last one out deletes
 * its key and the round's flag. It goes in rounds, each deciding on a fresh read, so a transient failure just runs the
 * round again.
 */
final class DoubleBarrierLeave {

  private final DoubleBarrier b;
  private final Session session;
  private final KV kv;
  private final ByteSequence ready;
  final DoubleBarrier.Call call = new DoubleBarrier.Call();
  private final RoundRetry retry;

  DoubleBarrierLeave(DoubleBarrier b) {
    this.b = b;
    this.session = b.session;
    this.kv = b.kv;
    this.ready = b.ready;
    this.retry = new RoundRetry(session, call.result);
  }

  void start() {
    call.result.whenComplete((v, t) -> {
      if (t == null) {
        call.settled.complete(null);
        return;
      }
      // failed, timed out or cancelled: we leave anyway (if the lowest, the others must not wait for us), and if
      // nobody is left then, the round's flag (it has no lease) goes too
      Contender k = b.mine;
      b.mine = null;
      (k == null ? CompletableFuture.completedFuture(null)
          : KeyCleanup.untilGone(after -> KeyCleanup.deleteGuarded(kv, session, k, after)))
          .thenCompose(x -> sweepFlag())
          .whenComplete((x, e) -> call.settled.complete(null));
    });
    round(0);
  }

  /**
   * One round of leaving: read who is still in, then act (delete our key and wait for the lowest; as the lowest wait
   * for the highest; as the last one out clean up). {@code upTo} is the revision of the leave's first read (0 before
   * it): every key of our round existed then, so later keys and a flag created later belong to a next round and are
   * ignored. Each round decides on its own read, so a transient failure just runs it again; our key stays ours
   * ({@code b.mine}) until its delete is known to have landed.
   */
  private void round(long upTo) {
    if (call.result.isDone()) {
      return;
    }
    Contender me = b.mine;
    kv.txn().then(b.waitersRead(), Op.get(ready)).commit().whenComplete((r, t) -> {
      if (t != null) {
        retry.again(t, () -> round(upTo));
        return;
      }
      if (call.result.isDone()) {
        return;
      }
      List<KeyValue> all = r.getResponse(0).kvs();
      if (upTo == 0 && me != null && all.stream().noneMatch(k -> k.key().equals(me.key()))) {
        // our key is gone before we left: its lease ended, and the others may be in a next round already
        SessionLostException lost = session.lostCause();
        call.result.completeExceptionally(lost != null ? lost : new BarrierBrokenException("double barrier " + b.name
            + ": our key " + me.key().toStringUtf8() + " is gone before we left (its lease ended)"));
        return;
      }
      long first = upTo > 0 ? upTo : r.header().revision();
      Runnable again = () -> round(first);
      List<KeyValue> in = all.stream().filter(k -> k.createRevision() <= first).toList();
      KeyValue seen = r.getResponse(1).first();
      KeyValue flag = seen != null && seen.createRevision() <= first ? seen : null;
      if (in.isEmpty()) { // everybody is out: the flag goes too, unless a next round is in (it may be theirs now)
        (all.isEmpty() ? clearFlag(flag) : CompletableFuture.completedFuture(null)).whenComplete((x, e) -> {
          b.mine = null;
          call.result.complete(null);
        });
        return;
      }
      KeyValue lowest = in.get(0);
      KeyValue highest = in.get(0);
      for (KeyValue k : in) {
        if (k.modRevision() < lowest.modRevision()) {
          lowest = k;
        }
        if (k.modRevision() > highest.modRevision()) {
          highest = k;
        }
      }
      boolean isLowest = me != null && lowest.key().equals(me.key());
      long from = r.header().revision() + 1;
      if (in.size() == 1 && isLowest) {
        lastOut(me, flag, again);
        return;
      }
      if (isLowest) {
        awaitDelete(highest.key(), from, again);
        return;
      }
      CompletableFuture<?> out = me == null ? CompletableFuture.completedFuture(null)
          : KeyCleanup.deleteGuarded(kv, session, me, () -> { });
      KeyValue wait = lowest;
      out.whenComplete((x, e) -> {
        if (e != null) {
          retry.again(e, again); // KeyCleanup retries the delete too; the next round's read sees where it stands
        } else {
          if (me != null && b.mine == me) {
            b.mine = null;
          }
          awaitDelete(wait.key(), from, again);
        }
      });
    });
  }

  /** The last one out deletes its key and the flag it saw, both guarded: a copy landing late cannot touch a next round. */
  private void lastOut(Contender me, KeyValue flag, Runnable again) {
    Txn txn = flag == null
        ? kv.txn().when(Compare.createRevision(me.key()).equal(me.createRevision())).then(Op.delete(me.key()))
        : kv.txn().when(Compare.createRevision(me.key()).equal(me.createRevision()),
            Compare.modRevision(ready).equal(flag.modRevision())).then(Op.delete(me.key()), Op.delete(ready));
    txn.commit().whenComplete((x, e) -> {
      if (e == null && x.succeeded()) {
        b.mine = null;
        call.result.complete(null);
      } else if (e == null || Outcomes.isTransient(e)) {
        // something changed under us, or the answer was lost: the next read shows what is left to do
        retry.later(again, e == null ? new IllegalStateException("changed under the last one out") : e);
      } else { // our key goes when the result fails; the flag (on no lease) must not stay either
        clearFlag(flag);
        call.result.completeExceptionally(Blocking.unwrap(e));
      }
    });
  }

  /** Deletes this round's {@code ready} if still as we saw it (retried while the session lives). */
  private CompletableFuture<?> clearFlag(KeyValue flag) {
    return flag == null ? CompletableFuture.completedFuture(null)
        : KeyCleanup.deleteIfUnchanged(kv, session, ready, flag.modRevision(), () -> { });
  }

  /**
   * After a leave that did not finish, with our key gone: if nobody is left, the flag (as read) must not stay. The
   * first attempt settles the call; a failed one is tried again in the background while the session lives.
   */
  private CompletableFuture<?> sweepFlag() {
    return KeyCleanup.deleteBy(session, ready, () -> kv.txn().then(b.waitersRead(), Op.get(ready)).commit()
        .thenCompose(r -> {
          KeyValue flag = r.getResponse(1).first();
          return !r.getResponse(0).kvs().isEmpty() || flag == null ? CompletableFuture.completedFuture(false)
              : kv.txn().when(Compare.modRevision(ready).equal(flag.modRevision())).then(Op.delete(ready)).commit()
                  .thenApply(x -> x.succeeded());
        }), () -> { }).handle((x, e) -> null);
  }

  private void awaitDelete(ByteSequence key, long from, Runnable next) {
    WaitForEvents w = WaitForEvents.key(session.client().watch(), key, from, WatchEvent.Type.DELETE);
    call.result.whenComplete((v, e) -> w.close());
    w.future().whenComplete((ev, e) -> {
      Throwable c = e == null ? null : Blocking.unwrap(e);
      if (c != null && !(c instanceof CompactedException)) {
        call.result.completeExceptionally(c);
      } else {
        next.run();
      }
    });
  }
}
