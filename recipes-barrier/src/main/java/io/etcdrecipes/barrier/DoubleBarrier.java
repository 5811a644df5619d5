package io.etcdrecipes.barrier;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.CompactedException;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
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
import io.etcdrecipes.recipes.UniqueKey;
import io.etcdrecipes.recipes.WaitForEvents;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.KeyCleanup;
import io.etcdrecipes.recipes.internal.Names;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
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
 *       key; a key written too late is deleted again).</li>
 *   <li><b>A participant lost while others wait to enter</b> (its session ended, or it gave up): its key disappears,
 *       so {@code count} can never be reached by the ones waiting. They are not left waiting: they fail with
 *       {@link BarrierBrokenException} and delete their keys (Go leaves them waiting forever).</li>
 *   <li>A participant lost while others wait to <b>leave</b>: its key disappears, which counts as having left; the
 *       others go on.</li>
 * </ul>
 * Every wait has the project's three forms; one that times out or is interrupted deletes this participant's key (an
 * enter) or finishes leaving in the background (a leave). One round at a time per key: a new round's enter after
 * the last participant left.
 */
public final class DoubleBarrier {

  private final Session session;
  private final String name;
  private final ByteSequence waiters;
  private final ByteSequence ready;
  private final int count;
  private final KV kv;
  private volatile Contender mine;
  private volatile CompletableFuture<?> cleaning = CompletableFuture.completedFuture(null);

  private DoubleBarrier(Session session, String key, int count) {
    this.session = Objects.requireNonNull(session, "session");
    ByteSequence prefix = Names.prefix(key, "key");
    if (count < 1) {
      throw new IllegalArgumentException("count must be >= 1, got " + count);
    }
    this.name = key;
    this.count = count;
    this.waiters = prefix.concat("/waiters");
    this.ready = prefix.concat("/ready");
    this.kv = session.client().kv();
  }

  public static DoubleBarrier create(Session session, String key, int count) {
    return new DoubleBarrier(session, key, count);
  }

  public int count() {
    return count;
  }

  // -------------------------------------------------------------------------------------------------- enter

  public CompletableFuture<Void> enterAsync() {
    io.etcdrecipes.recipes.SessionLostException lost = session.lostCause();
    if (lost != null) {
      throw lost;
    }
    CompletableFuture<Void> result = new CompletableFuture<>();
    waitersRead().whenComplete((before, t) -> {
      if (t != null) {
        result.completeExceptionally(Blocking.unwrap(t));
      } else if (before.kvs().size() >= count) {
        result.completeExceptionally(tooMany());
      } else {
        createMine(result);
      }
    });
    result.whenComplete((v, e) -> {
      if (e != null) {
        deleteMine(); // failed, timed out or cancelled: nothing of ours is left
      }
    });
    return result;
  }

  private CompletableFuture<GetResponse> waitersRead() {
    return kv.get(waiters.concat("/"), GetOption.builder().prefix().keysOnly()
        .sort(SortTarget.CREATE, SortOrder.ASCEND).build());
  }

  private TooManyParticipantsException tooMany() {
    return new TooManyParticipantsException("double barrier " + name + " has its " + count + " participants already");
  }

  private void createMine(CompletableFuture<Void> result) {
    ByteSequence key = UniqueKey.next(waiters);
    kv.txn().when(Compare.version(key).equal(0))
        .then(Op.put(key, ByteSequence.EMPTY, PutOption.lease(session.leaseId()))).commit().whenComplete((r, t) -> {
          if (t != null) {
            KeyCleanup.deleteIfOnLease(kv, session, key, () -> { });
            result.completeExceptionally(Blocking.unwrap(t));
          } else if (!r.succeeded()) {
            createMine(result);
          } else {
            mine = new Contender(key, r.header().revision());
            if (result.isDone()) { // given up meanwhile
              deleteMine();
            } else {
              afterMine(result, mine);
            }
          }
        });
  }

  private void afterMine(CompletableFuture<Void> result, Contender me) {
    kv.txn().then(Op.get(waiters.concat("/"), GetOption.builder().prefix().keysOnly()
        .sort(SortTarget.CREATE, SortOrder.ASCEND).build()), Op.get(ready)).commit().whenComplete((r, t) -> {
          if (t != null) {
            result.completeExceptionally(Blocking.unwrap(t));
            return;
          }
          List<KeyValue> in = r.getResponse(0).kvs();
          KeyValue readyKv = r.getResponse(1).first();
          if (readyKv != null && readyKv.modRevision() > me.createRevision()) {
            result.complete(null); // the last one came in already
            return;
          }
          if (in.size() >= count) {
            long last = in.get(count - 1).createRevision();
            if (me.createRevision() > last) {
              result.completeExceptionally(tooMany());
            } else if (me.createRevision() == last) { // the last one in: everybody goes on
              kv.put(ready, ByteSequence.EMPTY).whenComplete((p, e) -> {
                if (e != null) {
                  result.completeExceptionally(Blocking.unwrap(e));
                } else {
                  result.complete(null);
                }
              });
            } else {
              waitForReady(result, me, in, r.header().revision() + 1);
            }
            return;
          }
          waitForReady(result, me, in, r.header().revision() + 1);
        });
  }

  /** Waits for {@code key/ready}; a participant in {@code in} leaving first breaks the barrier. */
  private void waitForReady(CompletableFuture<Void> result, Contender me, List<KeyValue> in, long from) {
    Set<ByteSequence> entered = new HashSet<>();
    for (KeyValue kv1 : in) {
      entered.add(kv1.key());
    }
    // one watch over [key/ready, key/waiters0): the ready flag and every waiter ("ready" sorts before "waiters")
    WaitForEvents w = WaitForEvents.until(session.client().watch(), ready,
        WatchOption.builder().range(waiters.concat("0")).revision(from).build(),
        e -> (e.type() == WatchEvent.Type.PUT && e.kv().key().equals(ready))
            || (e.type() == WatchEvent.Type.DELETE && entered.contains(e.kv().key())));
    result.whenComplete((v, e) -> w.close());
    w.future().whenComplete((ev, e) -> {
      if (e != null) {
        Throwable c = Blocking.unwrap(e);
        if (c instanceof CompactedException) {
          afterMine(result, me);
        } else {
          result.completeExceptionally(c);
        }
      } else if (ev.type() == WatchEvent.Type.PUT) {
        result.complete(null);
      } else {
        result.completeExceptionally(new BarrierBrokenException("double barrier " + name + ": participant "
            + ev.kv().key().toStringUtf8() + " left before all " + count + " were in"));
      }
    });
  }

  private void deleteMine() {
    Contender me = mine;
    mine = null;
    if (me != null) {
      cleaning = KeyCleanup.deleteGuarded(kv, session, me, () -> { });
    }
  }

  /** Enters, waiting at most {@code timeout} for all {@code count}; on timeout our key is deleted. */
  public void enter(Duration timeout) throws InterruptedException, TimeoutException {
    Blocking.checkTimeout(timeout, "timeout");
    try {
      awaitOrCancel(enterAsync(), timeout);
    } catch (TimeoutException | InterruptedException e) {
      awaitCleanup();
      throw e;
    }
  }

  public void enter() throws InterruptedException {
    try {
      awaitOrCancel(enterAsync());
    } catch (InterruptedException e) {
      awaitCleanup();
      throw e;
    }
  }

  /** After giving up an enter: our key deleted before we return (bounded by the call timeout). */
  private void awaitCleanup() {
    boolean interrupted = Thread.interrupted();
    try {
      cleaning.get(Blocking.nanos(session.client().config().callTimeout()), java.util.concurrent.TimeUnit.NANOSECONDS);
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

  // -------------------------------------------------------------------------------------------------- leave

  /**
   * Leaves; completes when every participant has left (Go's algorithm: the lowest waits for the highest).
   * {@link IllegalStateException} unless this object entered.
   */
  public CompletableFuture<Void> leaveAsync() {
    if (mine == null) {
      throw new IllegalStateException("leave() needs a successful enter() on this DoubleBarrier object first");
    }
    CompletableFuture<Void> result = new CompletableFuture<>();
    leaveRound(result);
    return result;
  }

  private void leaveRound(CompletableFuture<Void> result) {
    if (result.isDone()) {
      return;
    }
    Contender me = mine;
    kv.get(waiters.concat("/"), GetOption.builder().prefix().keysOnly().build()).whenComplete((r, t) -> {
      if (t != null) {
        result.completeExceptionally(Blocking.unwrap(t));
        return;
      }
      List<KeyValue> in = r.kvs();
      if (in.isEmpty()) {
        mine = null;
        result.complete(null);
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
      if (in.size() == 1 && isLowest) { // the last one out: clean up
        kv.txn().then(Op.delete(ready), Op.delete(me.key())).commit().whenComplete((x, e) -> {
          if (e != null) {
            result.completeExceptionally(Blocking.unwrap(e));
          } else {
            mine = null;
            result.complete(null);
          }
        });
        return;
      }
      if (isLowest) {
        awaitDelete(result, highest.key(), from);
        return;
      }
      CompletableFuture<?> out = me == null ? CompletableFuture.completedFuture(null)
          : KeyCleanup.deleteGuarded(kv, session, me, () -> { });
      mine = null;
      KeyValue wait = lowest;
      out.whenComplete((x, e) -> {
        if (e != null) {
          result.completeExceptionally(Blocking.unwrap(e));
        } else {
          awaitDelete(result, wait.key(), from);
        }
      });
    });
  }

  private void awaitDelete(CompletableFuture<Void> result, ByteSequence key, long from) {
    WaitForEvents w = WaitForEvents.key(session.client().watch(), key, from, WatchEvent.Type.DELETE);
    result.whenComplete((v, e) -> w.close());
    w.future().whenComplete((ev, e) -> {
      Throwable c = e == null ? null : Blocking.unwrap(e);
      if (c != null && !(c instanceof CompactedException)) {
        result.completeExceptionally(c);
      } else {
        leaveRound(result);
      }
    });
  }

  /** Leaves, waiting at most {@code timeout} for the others; on timeout our key is gone already (we left). */
  public void leave(Duration timeout) throws InterruptedException, TimeoutException {
    Blocking.checkTimeout(timeout, "timeout");
    awaitOrCancel(leaveAsync(), timeout);
  }

  public void leave() throws InterruptedException {
    awaitOrCancel(leaveAsync());
  }

  // -------------------------------------------------------------------------------------------------- waits

  private static void awaitOrCancel(CompletableFuture<Void> f, Duration timeout)
      throws InterruptedException, TimeoutException {
    try {
      Blocking.await(f, timeout);
    } catch (TimeoutException | InterruptedException e) {
      f.cancel(false);
      throw e;
    }
  }

  private static void awaitOrCancel(CompletableFuture<Void> f) throws InterruptedException {
    try {
      Blocking.await(f);
    } catch (InterruptedException e) {
      f.cancel(false);
      throw e;
    }
  }

  @Override
  public String toString() {
    return "DoubleBarrier{" + name + ", count=" + count + "}";
  }
}
