package io.etcdrecipes.recipes.leasing;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.DeleteOption;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.OpResponse;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.WatchResponse;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.recipes.internal.Blocking;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The writes of a {@link LeasingKV}: a key this client holds is written guarded by its leasing key, and the
 * cache follows; any other write runs the REVOKE protocol (ask the holders to give the keys up, wait, write
 * guarded by "no leasing key"). Every step is asynchronous; every wait is bounded by the operation's deadline.
 */
final class LeasingWrites {

  private final LeasingCore core;

  LeasingWrites(LeasingCore core) {
    this.core = core;
  }

  /** A put or single-key delete: guarded by our leasing key when we own the key, else the REVOKE protocol. */
  CompletableFuture<TxnResponse> writeOne(ByteSequence key, Op op, long deadline) {
    checkWritable(key);
    Generation g = core.generation();
    Entry e = g != null && g.usable() ? g.entries.get(key) : null;
    if (e != null) {
      CompletableFuture<TxnResponse> own = ownWrite(e, op, deadline);
      if (own != null) {
        return own;
      }
    }
    return guardedWrite(List.of(new Range(key, null)), op, deadline);
  }

  /** A write of a key we hold: {@code createRevision(pfx + key) == leaseRev}; null if the entry is gone. */
  private CompletableFuture<TxnResponse> ownWrite(Entry e, Op op, long deadline) {
    CompletableFuture<Void> mine = new CompletableFuture<>();
    CompletableFuture<Void> before;
    synchronized (e) {
      if (!e.alive) {
        return null;
      }
      before = e.pending;
      if (before == null) {
        e.pending = mine;
      }
    }
    if (before != null) { // one own write of a key at a time; then look again
      return before.thenCompose(v -> writeOne(e.key, op, deadline));
    }
    CompletableFuture<TxnResponse> txn = core.kv(deadline).thenCompose(k -> k.txn()
        .when(Compare.createRevision(e.leasingKey).equal(e.leaseRev)).then(op).commit());
    return txn.handle((r, t) -> {
      boolean ok = t == null && r.succeeded();
      boolean drop = !ok;
      List<WatchEvent> deferred;
      synchronized (e) {
        if (ok) {
          e.ownRevs.add(r.header().revision());
          if (e.alive) {
            if (op instanceof Op.Put p && p.option().leaseId() == 0 && !p.option().isIgnoreValue()
                && !p.option().isIgnoreLease()) {
              e.putLocked(p.value(), r.header());
            } else if (op instanceof Op.Delete) {
              e.deleteLocked(r.header());
            } else {
              drop = true; // a put with a lease or ignore option: we do not know what it left; stop caching
            }
          }
        }
        deferred = e.deferred;
        e.deferred = null;
        e.pending = null;
      }
      if (drop) {
        core.evict(e, true);
      } else if (deferred != null) {
        for (WatchEvent ev : deferred) {
          core.keyEvent(e, ev);
        }
      }
      mine.complete(null);
      return r;
    }).thenCompose(r -> {
      if (r == null) { // failed: rethrow the original error
        return txn;
      }
      if (r.succeeded()) {
        return CompletableFuture.completedFuture(r);
      }
      // our leasing key is not what we think (revoked or deleted under us): the protocol for non-owners
      return guardedWrite(List.of(new Range(e.key, null)), op, deadline);
    });
  }

  /** A key ({@code end == null}) or a range [key, end) of user keys that a write touches. */
  record Range(ByteSequence key, ByteSequence end) {}

  /**
   * The REVOKE protocol: run {@code op} guarded by "no leasing key for any written key"; when some exist, ask
   * their owners to give them up (a {@code REVOKE} put that keeps their lease; ours we delete ourselves),
   * wait until each is deleted, and try again, until done or the deadline.
   */
  CompletableFuture<TxnResponse> guardedWrite(List<Range> ranges, Op op, long deadline) {
    List<Compare> guards = new ArrayList<>();
    List<Op> leasingGets = new ArrayList<>();
    for (Range r : ranges) {
      ByteSequence lkey = core.pfx.concat(r.key());
      if (r.end() == null) {
        guards.add(Compare.createRevision(lkey).equal(0));
        leasingGets.add(Op.get(lkey));
      } else {
        ByteSequence lend = leasingEnd(r.end());
        guards.add(Compare.createRevision(lkey).withRange(lend).less(1));
        leasingGets.add(Op.get(lkey, GetOption.builder().range(lend).build()));
      }
    }
    return core.kv(deadline).thenCompose(k -> k.txn().when(guards.toArray(Compare[]::new)).then(op)
        .orElse(leasingGets.toArray(Op[]::new)).commit()).thenCompose(resp -> {
          long rev = resp.header().revision();
          if (resp.succeeded()) {
            afterWrite(ranges, rev);
            return CompletableFuture.completedFuture(resp);
          }
          List<CompletableFuture<Void>> waits = new ArrayList<>();
          for (OpResponse or : resp.responses()) {
            for (KeyValue l : ((GetResponse) or).kvs()) {
              waits.add(revoke(l, rev, deadline));
            }
          }
          return CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new))
              .thenCompose(v -> guardedWrite(ranges, op, deadline));
        });
  }

  /** The end of the leasing-key range for a user range ending at {@code end} ({@code NUL}: to the end). */
  private ByteSequence leasingEnd(ByteSequence end) {
    return end.equals(ByteSequence.NUL) ? core.pfx.prefixEnd() : core.pfx.concat(end);
  }

  /** Gets leasing key {@code l} (seen at revision {@code rev}) deleted; completes when it is. */
  private CompletableFuture<Void> revoke(KeyValue l, long rev, long deadline) {
    CompletableFuture<Void> deleted = waitDeleted(l.key(), rev + 1, deadline);
    Generation g = core.generation();
    if (g != null && l.lease() == g.leaseId) { // ours: give it up ourselves
      ByteSequence key = l.key().substring(core.pfx.size());
      Entry e = g.entries.get(key);
      if (e != null && e.leaseRev == l.createRevision()) {
        core.evict(e, false);
      }
      core.rescind(g, l.key(), l.createRevision(), 0);
    } else if (!l.value().equals(LeasingCore.REVOKE)) {
      core.kv.withTimeout(core.callTimeout).txn().when(Compare.createRevision(l.key()).equal(l.createRevision()))
          .then(Op.put(l.key(), LeasingCore.REVOKE, PutOption.builder().ignoreLease().build())).commit()
          .exceptionally(t -> null); // if it fails, the wait fails by the deadline
    }
    return deleted;
  }

  /** Completes when {@code lkey} is deleted at {@code from} or later; fails at the deadline. */
  private CompletableFuture<Void> waitDeleted(ByteSequence lkey, long from, long deadline) {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      return CompletableFuture.failedFuture(LeasingCore.deadlineExceeded());
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    Watcher w = core.watch.watch(lkey, WatchOption.builder().revision(from).noPut().build(), new WatchListener() {
      @Override
      public void onNext(WatchResponse response) {
        if (!response.events().isEmpty()) {
          done.complete(null);
        }
      }

      @Override
      public void onError(EtcdException error) {
        done.completeExceptionally(error);
      }
    });
    return done.orTimeout(left, TimeUnit.NANOSECONDS).handle((v, t) -> {
      w.close();
      if (t != null) {
        Throwable c = Blocking.unwrap(t);
        throw c instanceof TimeoutException ? LeasingCore.deadlineExceeded() : Blocking.unchecked(c);
      }
      return null;
    });
  }

  /**
   * A write through the REVOKE protocol succeeded at {@code rev}: a concurrent acquire of a written key must
   * not install an older value, and no cache entry older than the write may stay.
   */
  private void afterWrite(List<Range> ranges, long rev) {
    Generation g = core.generation();
    for (Range r : ranges) {
      if (r.end() == null) {
        core.bump(r.key(), rev);
        Entry e = g == null ? null : g.entries.get(r.key());
        if (e != null) {
          evictIfOlder(e, rev);
        }
      } else {
        core.bumpRange(r.key(), r.end(), rev);
        if (g != null) {
          for (Entry e : List.copyOf(g.entries.values())) {
            if (LeasingCore.inRange(e.key, r.key(), r.end())) {
              evictIfOlder(e, rev);
            }
          }
        }
      }
    }
  }

  private void evictIfOlder(Entry e, long rev) {
    boolean older;
    synchronized (e) {
      older = e.alive && e.revision < rev;
    }
    if (older) {
      core.evict(e, true);
    }
  }

  /** A delete of a range: revoke every leasing key in it (ours included), then a guarded delete. */
  CompletableFuture<TxnResponse> deleteRange(ByteSequence key, DeleteOption option, long deadline) {
    ByteSequence start = option.rangeStart(key);
    ByteSequence end = option.rangeEnd(key);
    checkRangeWritable(start, end);
    return guardedWrite(List.of(new Range(start, end)), Op.delete(key, option), deadline);
  }

  /** A transaction: every key it may write is revoked (ours given up), then it runs guarded. */
  CompletableFuture<TxnResponse> txn(List<Compare> when, List<Op> then, List<Op> orElse, long deadline) {
    List<Range> ranges = new ArrayList<>();
    collectWrites(then, ranges);
    collectWrites(orElse, ranges);
    for (Compare c : when) {
      if (core.underPrefix(c.key())) {
        throw new IllegalArgumentException("a leasing KV does not compare keys under its leasing prefix "
            + core.pfx + ": " + c.key());
      }
    }
    if (ranges.isEmpty()) { // read-only: straight to the server
      return core.kv(deadline).thenCompose(k -> k.txn().when(when.toArray(Compare[]::new))
          .then(then.toArray(Op[]::new)).orElse(orElse.toArray(Op[]::new)).commit());
    }
    return guardedWrite(ranges, Op.txn(when, then, orElse), deadline).thenApply(resp -> {
      TxnResponse inner = resp.txnResponse(0);
      return new TxnResponse(resp.header(), inner.succeeded(), inner.responses());
    });
  }

  private void collectWrites(List<Op> ops, List<Range> into) {
    for (Op op : ops) {
      if (op instanceof Op.Put p) {
        checkWritable(p.key());
        into.add(new Range(p.key(), null));
      } else if (op instanceof Op.Delete d) {
        ByteSequence end = d.option().rangeEnd(d.key());
        if (end == null) {
          checkWritable(d.key());
          into.add(new Range(d.key(), null));
        } else {
          ByteSequence start = d.option().rangeStart(d.key());
          checkRangeWritable(start, end);
          into.add(new Range(start, end));
        }
      } else if (op instanceof Op.Txn t) {
        for (Compare c : t.when()) {
          if (core.underPrefix(c.key())) {
            throw new IllegalArgumentException("a leasing KV does not compare keys under its leasing prefix "
                + core.pfx + ": " + c.key());
          }
        }
        collectWrites(t.then(), into);
        collectWrites(t.orElse(), into);
      }
    }
  }

  void checkWritable(ByteSequence key) {
    if (core.underPrefix(key)) {
      throw new IllegalArgumentException("a leasing KV does not write keys under its leasing prefix " + core.pfx
          + ": " + key);
    }
  }

  private void checkRangeWritable(ByteSequence start, ByteSequence end) {
    // [start, end) meets the prefix range [pfx, pfx.prefixEnd()) unless it lies wholly before or after it
    boolean before = !end.equals(ByteSequence.NUL) && end.compareTo(core.pfx) <= 0;
    boolean after = start.compareTo(core.pfx.prefixEnd()) >= 0;
    if (!before && !after) {
      throw new IllegalArgumentException("a leasing KV does not write ranges that overlap its leasing prefix "
          + core.pfx + ": [" + start + ", " + end + ")");
    }
  }
}
