package io.etcdrecipes.barrier;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.CompactedException;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.client.SortOrder;
import io.etcdrecipes.client.SortTarget;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.recipes.Contender;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionLostException;
import io.etcdrecipes.recipes.UniqueKey;
import io.etcdrecipes.recipes.WaitForEvents;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.Fences;
import io.etcdrecipes.recipes.internal.KeyCleanup;
import io.etcdrecipes.recipes.internal.Names;
import io.etcdrecipes.recipes.internal.Outcomes;
import io.etcdrecipes.recipes.internal.RoundRetry;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A double barrier in the layout of Go's {@code recipe.DoubleBarrier}: {@code count} participants {@link #enter} (each
 * a key {@code key/waiters/<unix nanos>} on its session's lease) and all go on together once the last one is in (it
 * puts {@code key/ready}); then they {@link #leave} and all go on once the last one is out.
 *
 * <pre>{@code
 * DoubleBarrier stage = DoubleBarrier.create(session, "batch/stage-2", 5);
 * stage.enter(Duration.ofMinutes(1));   // returns when all 5 are in
 * ... work ...
 * stage.leave(Duration.ofMinutes(1));   // returns when all 5 are out
 * }</pre>
 *
 * <ul>
 *   <li>More than {@code count} entering: {@link TooManyParticipantsException} (checked before and after writing our
 *       key; a key written too late is deleted again, and its delete does not disturb the {@code count} before it).</li>
 *   <li><b>A participant lost while others wait to enter</b> (its session ended, or it gave up): its key disappears,
 *       so {@code count} can never be reached by the ones waiting. They are not left waiting: they fail with
 *       {@link BarrierBrokenException} and delete their keys (Go leaves them waiting forever).</li>
 *   <li>A participant lost while others wait to <b>leave</b>: its key disappears, which counts as having left; the
 *       others go on. Whoever finds nobody left deletes {@code key/ready} (guarded by its revision, so a next round's
 *       flag stays): a round leaves no key behind, even when the participant that would have cleaned up died.</li>
 * </ul>
 * Every wait has the project's three forms; one that times out, is interrupted or is cancelled deletes this
 * participant's key before it returns (bounded by the call timeout): an enter given up leaves nothing, a leave given
 * up has left (the others are not held up by it). A key created with an unknown outcome is fenced before it is
 * deleted. One round at a time per key: a new round's enter after the last participant left.
 */
public final class DoubleBarrier {

  final Session session;
  final String name;
  private final ByteSequence waiters;
  final ByteSequence ready;
  final int count;
  final KV kv;
  /** Our key while we are in (entered, not left yet). */
  volatile Contender mine;

  private DoubleBarrier(Session session, String name, int count) {
    this.session = Objects.requireNonNull(session, "session");
    ByteSequence prefix = Names.prefix(name, "name");
    if (count < 1) {
      throw new IllegalArgumentException("count must be >= 1, got " + count);
    }
    this.name = name;
    this.count = count;
    this.waiters = prefix.concat("/waiters");
    this.ready = prefix.concat("/ready");
    this.kv = session.client().kv();
  }

  public static DoubleBarrier create(Session session, String name, int count) {
    return new DoubleBarrier(session, name, count);
  }

  /** The name the barrier was created with (the prefix of its keys). */
  public String name() {
    return name;
  }

  public int count() {
    return count;
  }

  // -------------------------------------------------------------------------------------------------- enter

  public CompletableFuture<Void> enterAsync() {
    return startEnter().result;
  }

  /** Enters, waiting at most {@code timeout} for all {@code count}; on timeout our key is deleted. */
  public void enter(Duration timeout) throws InterruptedException, TimeoutException {
    Blocking.checkTimeout(timeout, "timeout");
    Call call = startEnter();
    awaitOrGiveUp(call, timeout);
  }

  public void enter() throws InterruptedException {
    Call call = startEnter();
    awaitOrGiveUp(call);
  }

  /** One enter or leave: its result, and {@code settled} once nothing of a failed one is left behind. */
  static final class Call {
    final CompletableFuture<Void> result = new CompletableFuture<>();
    final CompletableFuture<Void> settled = new CompletableFuture<>();
  }

  private Call startEnter() {
    SessionLostException lost = session.lostCause();
    if (lost != null) {
      throw lost;
    }
    Entering e = new Entering();
    e.call.result.whenComplete((v, t) -> {
      if (t == null) {
        e.call.settled.complete(null);
      } else {
        e.giveBack(); // failed, timed out or cancelled: nothing of ours is left
      }
    });
    e.start();
    return e.call;
  }

  /** The waiters' keys, oldest first. */
  Op waitersRead() {
    return Op.get(waiters.concat("/"), GetOption.builder().prefix().keysOnly().sort(SortTarget.CREATE, SortOrder.ASCEND)
        .build());
  }

  private TooManyParticipantsException tooMany() {
    return new TooManyParticipantsException("double barrier " + name + " has its " + count + " participants already");
  }

  /** One enter: our key's creation (fenced), the count, the wait for {@code ready}. */
  private final class Entering {
    final Call call = new Call();
    final RoundRetry retry = new RoundRetry(session, call.result);
    // guarded by this
    private ByteSequence fence = Fences.newFence(session);
    private Contender key;
    private boolean creating;
    private boolean givenBack;
    private CompletableFuture<?> unknownCleanup;

    /** Counts the ones in before writing our key (too many: fail without writing anything). */
    void start() {
      kv.txn().then(waitersRead()).commit().whenComplete((before, t) -> {
        if (t != null) {
          retry.again(t, this::start);
        } else if (before.getResponse(0).kvs().size() >= count) {
          call.result.completeExceptionally(tooMany());
        } else {
          create();
        }
      });
    }

    void create() {
      ByteSequence fence;
      synchronized (this) {
        if (call.result.isDone()) {
          return;
        }
        creating = true;
        fence = this.fence;
      }
      ByteSequence k = UniqueKey.next(waiters);
      kv.txn().when(Compare.version(k).equal(0), Fences.notRaised(fence))
          .then(Op.put(k, ByteSequence.EMPTY, PutOption.lease(session.leaseId()))).commit().whenComplete((r, t) -> {
            if (t != null && Outcomes.isTransient(t)) {
              recover(k, fence, t); // still "creating": a give-up meanwhile waits for the answer
              return;
            }
            Contender c = null;
            synchronized (this) {
              creating = false;
              if (t == null && r.succeeded()) {
                key = c = new Contender(k, r.header().revision());
                mine = c; // set before the result completes: leave() may follow at once
              } else if (t != null) {
                unknownCleanup = Outcomes.mayHaveApplied(t)
                    ? KeyCleanup.untilGone(after -> KeyCleanup.deleteAfterFence(kv, session, fence, k, after))
                    : CompletableFuture.completedFuture(null);
              }
            }
            if (t != null) {
              call.result.completeExceptionally(Blocking.unwrap(t));
              giveBack(); // if the call had ended meanwhile, its own giveBack found the create in flight
            } else if (!r.succeeded()) {
              if (call.result.isDone()) {
                giveBack();
              } else {
                create(); // the name was taken: another one
              }
            } else {
              landed(c);
            }
          });
    }

    /**
     * A create that failed on the way (an election, a killed member): its fence is raised and its key read in one
     * transaction. There: the key is ours, as if the answer had come (others may have counted it already; deleting it
     * would break the barrier for them). Absent: it can no longer appear, so another create goes under a new fence.
     */
    private void recover(ByteSequence k, ByteSequence fence, Throwable t) {
      Fences.raiseAndRead(kv, session, fence, Op.get(k)).whenComplete((got, e) -> {
        KeyValue found = got == null ? null : got.first();
        Contender c = null;
        synchronized (this) {
          creating = false;
          if (found != null && found.lease() == session.leaseId()) {
            key = c = new Contender(k, found.createRevision());
            mine = c;
          } else {
            this.fence = Fences.newFence(session);
          }
        }
        if (c != null) {
          landed(c);
        } else if (got == null) { // the session is lost (its lease takes whatever was written)
          SessionLostException lost = session.lostCause();
          call.result.completeExceptionally(lost != null ? lost : Blocking.unwrap(t));
          giveBack();
        } else if (call.result.isDone() || !retry.later(this::start, Blocking.unwrap(t))) { // count again first
          giveBack();
        }
      });
    }

    /** Our key is in: wait for the others, unless the call ended meanwhile. */
    private void landed(Contender c) {
      if (call.result.isDone()) {
        giveBack(); // given up meanwhile
      } else {
        afterMine(c);
      }
    }

    /** Deletes our key (if created), then settles; a create in flight does so when it lands. Runs once. */
    void giveBack() {
      Contender k;
      CompletableFuture<?> pending;
      synchronized (this) {
        if (creating || givenBack) {
          return;
        }
        givenBack = true;
        k = key;
        key = null;
        pending = unknownCleanup;
      }
      if (k != null && mine == k) {
        mine = null;
      }
      CompletableFuture<?> done = k != null ? KeyCleanup.untilGone(after -> KeyCleanup.deleteGuarded(kv, session, k, after))
          : pending != null ? pending : CompletableFuture.completedFuture(null);
      done.whenComplete((v, x) -> call.settled.complete(null));
    }

    void afterMine(Contender me) {
      if (call.result.isDone()) {
        return;
      }
      kv.txn().then(waitersRead(), Op.get(ready)).commit().whenComplete((r, t) -> {
        if (t != null) {
          retry.again(t, () -> afterMine(me));
          return;
        }
        if (call.result.isDone()) {
          return;
        }
        List<KeyValue> in = r.getResponse(0).kvs();
        KeyValue readyKv = r.getResponse(1).first();
        // too many first: a key that came after the count-th one must not take that one's flag for its own
        if (in.size() >= count && me.createRevision() > in.get(count - 1).createRevision()) {
          call.result.completeExceptionally(tooMany());
          return;
        }
        if (readyKv != null && readyKv.modRevision() > me.createRevision()) {
          call.result.complete(null); // the last one came in already
          return;
        }
        if (in.size() >= count) {
          long last = in.get(count - 1).createRevision();
          if (me.createRevision() == last) { // the last one in: everybody goes on
            // guarded by our key: a put that lands late, after we gave up or our session ended, writes nothing
            kv.txn().when(Compare.createRevision(me.key()).equal(me.createRevision()))
                .then(Op.put(ready, ByteSequence.EMPTY)).commit().whenComplete((p, e) -> {
                  if (e == null && p.succeeded()) {
                    call.result.complete(null);
                  } else if (e == null) {
                    SessionLostException lost = session.lostCause();
                    call.result.completeExceptionally(lost != null ? lost : new BarrierBrokenException("double barrier "
                        + name + ": our key " + me.key().toStringUtf8() + " is gone before all " + count + " were in"));
                  } else if (Outcomes.mayHaveApplied(e)) {
                    retry.later(() -> afterMine(me), Blocking.unwrap(e)); // read again: it may be in, others gone on
                  } else {
                    call.result.completeExceptionally(Blocking.unwrap(e));
                  }
                });
          } else {
            waitForReady(me, in, r.header().revision() + 1);
          }
          return;
        }
        waitForReady(me, in, r.header().revision() + 1);
      });
    }

    /**
     * Waits for {@code key/ready}. A participant among the first {@code count} (by create revision, counting those
     * who came after our read) leaving first breaks the barrier; one beyond them (too many, it deletes its key again)
     * does not.
     */
    private void waitForReady(Contender me, List<KeyValue> in, long from) {
      Participants p = new Participants(in);
      // one watch over [key/ready, key/waiters0): the ready flag and every waiter ("ready" sorts before "waiters")
      WaitForEvents w = WaitForEvents.until(session.client().watch(), ready,
          WatchOption.builder().range(waiters.concat("0")).revision(from).build(),
          e -> e.kv().key().equals(ready) ? e.type() == WatchEvent.Type.PUT : p.breaks(e));
      call.result.whenComplete((v, e) -> w.close());
      w.future().whenComplete((ev, e) -> {
        if (e != null) {
          Throwable c = Blocking.unwrap(e);
          if (c instanceof CompactedException) {
            afterMine(me);
          } else {
            call.result.completeExceptionally(c);
          }
        } else if (ev.type() == WatchEvent.Type.PUT) {
          call.result.complete(null);
        } else {
          call.result.completeExceptionally(new BarrierBrokenException("double barrier " + name + ": participant "
              + ev.kv().key().toStringUtf8() + (ev.kv().key().equals(me.key()) ? " (ours: its lease is gone)" : "")
              + " left before all " + count + " were in"));
        }
      });
    }
  }

  /** The waiters as a waiting participant sees them, kept up to date from its watch's events (in revision order). */
  private final class Participants {
    private final Map<ByteSequence, Long> created = new HashMap<>();

    Participants(List<KeyValue> in) {
      for (KeyValue k : in) {
        created.put(k.key(), k.createRevision());
      }
    }

    synchronized boolean breaks(WatchEvent e) {
      ByteSequence k = e.kv().key();
      if (e.type() == WatchEvent.Type.PUT) {
        created.putIfAbsent(k, e.kv().createRevision());
        return false;
      }
      Long rev = created.remove(k);
      if (rev == null) {
        return false;
      }
      long before = created.values().stream().filter(r -> r < rev).count();
      return before < count; // one of the first count: this round cannot fill up any more
    }
  }

  // -------------------------------------------------------------------------------------------------- leave

  /**
   * Leaves; completes when every participant has left (Go's algorithm: the lowest waits for the highest).
   * {@link IllegalStateException} unless this object entered. Cancelling it deletes our key (we left; the others
   * are not held up).
   */
  public CompletableFuture<Void> leaveAsync() {
    return startLeave().result;
  }

  /** Leaves, waiting at most {@code timeout} for the others; on timeout our key is gone (we left). */
  public void leave(Duration timeout) throws InterruptedException, TimeoutException {
    Blocking.checkTimeout(timeout, "timeout");
    awaitOrGiveUp(startLeave(), timeout);
  }

  public void leave() throws InterruptedException {
    awaitOrGiveUp(startLeave());
  }

  private Call startLeave() {
    if (mine == null) {
      throw new IllegalStateException("leave() needs a successful enter() on this DoubleBarrier object first");
    }
    SessionLostException lost = session.lostCause();
    if (lost != null) {
      throw lost; // our key went with the lease: the others may be in a next round already
    }
    DoubleBarrierLeave l = new DoubleBarrierLeave(this);
    l.start();
    return l.call;
  }

  // -------------------------------------------------------------------------------------------------- waits

  private void awaitOrGiveUp(Call call, Duration timeout) throws InterruptedException, TimeoutException {
    try {
      Blocking.await(call.result, timeout);
    } catch (TimeoutException | InterruptedException e) {
      call.result.cancel(false);
      awaitSettled(call);
      throw e;
    }
  }

  private void awaitOrGiveUp(Call call) throws InterruptedException {
    try {
      Blocking.await(call.result);
    } catch (InterruptedException e) {
      call.result.cancel(false);
      awaitSettled(call);
      throw e;
    }
  }

  /** After giving up: our key deleted before we return (bounded by the call timeout; it goes on in the background). */
  private void awaitSettled(Call call) {
    boolean interrupted = Thread.interrupted();
    try {
      call.settled.get(Blocking.nanos(session.client().config().callTimeout().plusSeconds(1)),
          TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      interrupted = true;
    } catch (Exception e) {
      // goes on in the background while the session lives
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public String toString() {
    return "DoubleBarrier{" + name + ", count=" + count + "}";
  }
}
