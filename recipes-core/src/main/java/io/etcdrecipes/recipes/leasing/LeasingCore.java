package io.etcdrecipes.recipes.leasing;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.DeadlineExceededException;
import io.etcdrecipes.client.DeleteOption;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.OpResponse;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.client.SortOrder;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.client.Watch;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.WatchResponse;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionPolicy;
import io.etcdrecipes.recipes.SessionState;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.SharedExecutors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;

/**
 * The shared state and protocol of a {@link LeasingKV} (and of its {@link LeasingKV#withTimeout} views).
 * Every method is asynchronous and never blocks the thread it runs on (watch callbacks and RPC completions
 * run on the client's callback executor).
 */
final class LeasingCore {

  private static final Logger log = LoggerFactory.getLogger(LeasingCore.class);

  static final ByteSequence REVOKE = ByteSequence.of("REVOKE");
  private static final int RESCIND_ATTEMPTS = 10;

  final EtcdClient client;
  final KV kv;
  final Watch watch;
  final ByteSequence pfx;
  final Duration sessionTtl;
  final SessionPolicy policy;
  final long backoffNanos;
  final Duration callTimeout;
  final LeasingKV.CachedReads cachedReads;
  final ReadConfirmer confirmer;

  final LongAdder hits = new LongAdder();
  final LongAdder misses = new LongAdder();

  /** The live generation, or {@code null} while no session is up. */
  private volatile Generation gen;
  private volatile boolean closed;
  /** Keys given up recently: not re-acquired before the backoff ends (Go's revokeBackoff). */
  private final ConcurrentHashMap<ByteSequence, Long> givenUpAt = new ConcurrentHashMap<>();
  /** Acquires in flight, one per key. */
  private final ConcurrentHashMap<ByteSequence, Acquire> acquiring = new ConcurrentHashMap<>();
  private final CompletableFuture<Void> firstSession = new CompletableFuture<>();

  /** An acquire in flight: the highest revision at which this client answered about the key meanwhile. */
  private static final class Acquire {
    long maxServed; // guarded by this
    boolean finished; // guarded by this
  }

  LeasingCore(EtcdClient client, ByteSequence pfx, Duration sessionTtl, SessionPolicy policy, Duration backoff,
              Duration callTimeout, LeasingKV.CachedReads cachedReads) {
    this.client = client;
    this.kv = client.kv();
    this.watch = client.watch();
    this.pfx = pfx;
    this.sessionTtl = sessionTtl;
    this.policy = policy;
    this.backoffNanos = backoff.toNanos();
    this.callTimeout = callTimeout;
    this.cachedReads = cachedReads;
    this.confirmer = new ReadConfirmer(kv, callTimeout);
  }

  // ---------------------------------------------------------------------------------------------- sessions

  CompletableFuture<Void> start() {
    startSession();
    return firstSession;
  }

  private void startSession() {
    if (closed) {
      return;
    }
    Session.builder(client).ttl(sessionTtl).listener(this::sessionChanged).buildAsync().whenComplete((s, t) -> {
      if (t != null) {
        log.debug("leasing {}: could not open a session, retrying: {}", pfx, t.toString());
        if (!firstSession.isDone()) {
          firstSession.completeExceptionally(Blocking.unwrap(t));
        }
        if (!closed) {
          SharedExecutors.timer().schedule(this::startSession, 500, TimeUnit.MILLISECONDS);
        }
        return;
      }
      Generation g = new Generation(s, policy);
      synchronized (this) {
        if (closed) {
          g = null;
        } else {
          gen = g;
        }
      }
      if (g == null) {
        s.closeAsync();
        return;
      }
      firstSession.complete(null);
      if (!policy.isUsable(s.state())) {
        sessionChanged(s, s.state());
      }
    });
  }

  private void sessionChanged(Session s, SessionState state) {
    if (policy.isUsable(state)) {
      return;
    }
    Generation g;
    synchronized (this) {
      g = gen;
      if (g == null || g.session != s) {
        return;
      }
      gen = null;
    }
    log.debug("leasing {}: session {} {}: cache emptied, opening a new session", pfx,
        Long.toHexString(g.leaseId), state);
    kill(g);
    s.closeAsync(); // revokes the lease if it is still there, so our leasing keys do not hold writers up
    startSession();
  }

  /** Drops a generation's cache; its leasing keys go with its lease. */
  private void kill(Generation g) {
    g.dead = true;
    for (Entry e : List.copyOf(g.entries.values())) {
      evict(e, false);
    }
  }

  void close() {
    Generation g;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      g = gen;
      gen = null;
    }
    if (g != null) {
      kill(g);
      g.session.close(); // revokes the lease: every leasing key of ours is gone at once
    }
  }

  Generation generation() {
    return gen;
  }

  int cachedKeys() {
    Generation g = gen;
    return g == null ? 0 : g.entries.size();
  }

  boolean isCached(ByteSequence key) {
    Generation g = gen;
    return g != null && g.entries.containsKey(key);
  }

  // ---------------------------------------------------------------------------------------------- reads

  static boolean cacheable(GetOption o) {
    return o.end() == null && !o.isPrefix() && !o.isFromKey() && o.limit() == 0 && o.revision() == 0
        && !o.isSerializable() && !o.isKeysOnly() && !o.isCountOnly() && o.sortOrder() == SortOrder.NONE
        && o.minModRevision() == 0 && o.maxModRevision() == 0 && o.minCreateRevision() == 0
        && o.maxCreateRevision() == 0;
  }

  boolean underPrefix(ByteSequence key) {
    return key.startsWith(pfx);
  }

  CompletableFuture<GetResponse> get(ByteSequence key, GetOption option, long deadline) {
    if (closed || key.isEmpty() || underPrefix(key) || !cacheable(option)) {
      return serverGet(key, option, deadline);
    }
    Generation g = gen;
    if (g == null || !g.usable()) {
      misses.increment();
      return serverGet(key, option, deadline);
    }
    Entry e = g.entries.get(key);
    if (e != null) {
      GetResponse cached = null;
      CompletableFuture<Void> wait = null;
      synchronized (e) {
        if (e.alive) {
          if (e.pending == null) {
            cached = e.responseLocked();
          } else {
            wait = e.pending;
          }
        }
      }
      if (cached != null) {
        if (cachedReads == LeasingKV.CachedReads.CONFIRMED) {
          return confirmed(e, key, option, deadline);
        }
        hits.increment();
        return CompletableFuture.completedFuture(cached);
      }
      if (wait != null) { // an own write of the key is in flight: answer after it (bounded by its deadline)
        return wait.thenCompose(v -> get(key, option, deadline));
      }
    }
    misses.increment();
    if (!mayAcquire(key)) {
      return serverGet(key, option, deadline);
    }
    Acquire a = new Acquire();
    if (acquiring.putIfAbsent(key, a) != null) {
      return serverGet(key, option, deadline);
    }
    return acquire(g, key, option, a, deadline);
  }

  /**
   * A cached read answered only if the server's mod revision of the key, read (batched, keys only) after this
   * read started, is the cached one: then no write of the key by anybody completed in between. Otherwise the
   * value is read from the server, which also drops a cache entry it shows to be stale.
   */
  private CompletableFuture<GetResponse> confirmed(Entry e, ByteSequence key, GetOption option, long deadline) {
    return confirmer.current(key, deadline).handle((cur, t) -> {
      GetResponse answer = null;
      CompletableFuture<Void> ownWrite = null;
      if (t == null) {
        synchronized (e) {
          if (e.alive && e.pending != null) {
            ownWrite = e.pending;
          } else if (e.alive && e.confirmLocked(cur.keyOnly(), cur.header())) {
            answer = e.responseLocked();
          }
        }
      }
      if (answer != null) {
        hits.increment();
        return CompletableFuture.completedFuture(answer);
      }
      if (ownWrite != null) { // the server may already show it: answer after it, from the cache again
        return ownWrite.thenCompose(v -> get(key, option, deadline));
      }
      misses.increment();
      return serverGet(key, option, deadline);
    }).thenCompose(f -> f);
  }

  private boolean mayAcquire(ByteSequence key) {
    Long at = givenUpAt.get(key);
    if (at == null) {
      return true;
    }
    if (System.nanoTime() - at > backoffNanos) {
      givenUpAt.remove(key, at);
      return true;
    }
    return false;
  }

  CompletableFuture<GetResponse> serverGet(ByteSequence key, GetOption option, long deadline) {
    return kv(deadline).thenCompose(k -> k.get(key, option)).thenApply(r -> {
      observeRead(key, option, r);
      return r;
    });
  }

  /**
   * A server read is about to be answered: no cached read of this client may later return anything older.
   * An acquire in flight for a key read here at a higher revision must not install its (older) value, and a
   * cached value older than what the server just said is dropped.
   */
  private void observeRead(ByteSequence key, GetOption option, GetResponse r) {
    long rev = r.header().revision();
    ByteSequence end = option.rangeEnd(key);
    if (end == null) {
      bump(key, rev);
      checkNewer(key, r.first(), rev, true);
      return;
    }
    ByteSequence start = option.rangeStart(key);
    for (var en : acquiring.entrySet()) {
      if (inRange(en.getKey(), start, end)) {
        bump(en.getKey(), rev);
      }
    }
    for (KeyValue kv : r.kvs()) {
      checkNewer(kv.key(), kv, rev, false);
    }
  }

  private void bump(ByteSequence key, long rev) {
    Acquire a = acquiring.get(key);
    if (a != null) {
      synchronized (a) {
        if (!a.finished && rev > a.maxServed) {
          a.maxServed = rev;
        }
      }
    }
  }

  private void checkNewer(ByteSequence key, KeyValue seen, long rev, boolean seenIsWholeKey) {
    Generation g = gen;
    Entry e = g == null ? null : g.entries.get(key);
    if (e == null) {
      return;
    }
    boolean stale;
    synchronized (e) {
      if (!e.alive || e.pending != null || rev <= e.revision) {
        return;
      }
      if (seen == null) {
        stale = seenIsWholeKey && e.kv != null;
      } else {
        stale = e.kv == null || seen.modRevision() > e.kv.modRevision();
      }
    }
    if (stale) {
      evict(e, true);
    }
  }

  /**
   * Takes the key's leasing key and caches the key. Both watches (the key, the leasing key) are created
   * <em>before</em> the acquire transaction, from "now": so they see every change after the acquire at once
   * (a watch from a past revision would be "unsynced" on the server and delivered up to 100 ms late).
   */
  private CompletableFuture<GetResponse> acquire(Generation g, ByteSequence key, GetOption option, Acquire a,
                                                 long deadline) {
    ByteSequence lkey = pfx.concat(key);
    Entry e = new Entry(g, key, lkey);
    startWatches(e);
    long left = deadline - System.nanoTime();
    CompletableFuture<Void> created = CompletableFuture.allOf(e.keyWatch.created(), e.leaseWatch.created())
        .orTimeout(Math.max(1, left), TimeUnit.NANOSECONDS);
    return created.handle((v, t) -> t).thenCompose(t -> {
      if (t != null) {
        finish(key, a);
        evict(e, false);
        return serverGet(key, option, deadline);
      }
      return kv(deadline).thenCompose(k -> k.txn()
          .when(Compare.createRevision(lkey).equal(0), Compare.lease(key).equal(0))
          .then(Op.get(key), Op.put(lkey, ByteSequence.EMPTY, PutOption.lease(g.leaseId)))
          .orElse(Op.get(key))
          .commit()).handle((resp, err) -> installed(g, e, a, resp, err));
    });
  }

  private GetResponse installed(Generation g, Entry e, Acquire a, TxnResponse resp, Throwable err) {
    if (err != null) {
      finish(e.key, a);
      evict(e, false);
      // the leasing key may have been made; it must not hold writers up until the session ends
      rescindByLease(g, e.leasingKey, 0);
      throw Blocking.unchecked(err);
    }
    GetResponse inner = resp.getResponse(0);
    GetResponse answer = new GetResponse(resp.header(), inner.kvs(), inner.more(), inner.count());
    if (!resp.succeeded()) { // someone holds it (or the key has a lease): read it from the server for a while
      finish(e.key, a);
      evict(e, false);
      return answer;
    }
    long rev = resp.header().revision();
    boolean fresh;
    boolean alive;
    synchronized (e) {
      fresh = e.installLocked(inner.first(), resp.header());
      alive = e.alive;
    }
    boolean inMap = alive && !g.dead && g.entries.putIfAbsent(e.key, e) == null;
    long served = finish(e.key, a);
    if (!inMap) {
      evict(e, false);
      rescind(g, e.leasingKey, rev, 0);
    } else if (!fresh || g.dead || served > rev) {
      // changed since, killed meanwhile, or this client already answered with something newer
      evict(e, true);
    }
    return answer;
  }

  private long finish(ByteSequence key, Acquire a) {
    acquiring.remove(key, a);
    synchronized (a) {
      a.finished = true;
      return a.maxServed;
    }
  }

  /** A watch listener that hands each event of {@code e}'s watch to {@code handler}; a failed watch evicts. */
  private WatchListener eventsOf(Entry e, java.util.function.BiConsumer<Entry, WatchEvent> handler) {
    return new WatchListener() {
      @Override
      public void onNext(WatchResponse response) {
        for (WatchEvent ev : response.events()) {
          handler.accept(e, ev);
        }
      }

      @Override
      public void onError(EtcdException error) {
        evict(e, true);
      }
    };
  }

  private void startWatches(Entry e) {
    Watcher kw = watch.watch(e.key, WatchOption.DEFAULT, eventsOf(e, this::keyEvent));
    Watcher lw = watch.watch(e.leasingKey, WatchOption.DEFAULT, eventsOf(e, this::leasingKeyEvent));
    synchronized (e) {
      e.keyWatch = kw;
      e.leaseWatch = lw;
    }
  }

  /** An event of a cached key: ours (a guarded write we made) or someone else's, which ends our caching. */
  private void keyEvent(Entry e, WatchEvent ev) {
    long rev = ev.kv().modRevision();
    synchronized (e) {
      if (!e.alive) {
        return;
      }
      if (!e.installed) {
        e.earlyEventRev = Math.max(e.earlyEventRev, rev);
        return;
      }
      if (rev <= e.leaseRev) {
        return; // before we acquired it: our cached value already includes it
      }
      if (e.pending != null) {
        e.deferLocked(ev);
        return;
      }
      if (e.ownRevs.remove(rev)) {
        return;
      }
    }
    log.debug("leasing {}: {} changed by someone else at {}: giving it up", pfx, e.key, rev);
    evict(e, true);
  }

  /** An event of our leasing key after we made it: a REVOKE from a writer, or it was deleted (lease gone). */
  private void leasingKeyEvent(Entry e, WatchEvent ev) {
    long rev = ev.kv().modRevision();
    synchronized (e) {
      if (!e.alive) {
        return;
      }
      if (!e.installed) {
        e.earlyEventRev = Math.max(e.earlyEventRev, rev);
        return;
      }
      if (rev <= e.leaseRev) {
        return; // our own acquire
      }
    }
    evict(e, true);
  }

  /** Stops serving the key from the cache at once; with {@code rescind}, then deletes our leasing key. */
  void evict(Entry e, boolean rescind) {
    Watcher kw;
    Watcher lw;
    synchronized (e) {
      if (!e.alive) {
        return;
      }
      e.alive = false;
      kw = e.keyWatch;
      lw = e.leaseWatch;
      rescind &= e.installed;
    }
    e.gen.entries.remove(e.key, e);
    givenUpAt.put(e.key, System.nanoTime());
    if (kw != null) {
      kw.close();
    }
    if (lw != null) {
      lw.close();
    }
    if (rescind) {
      rescind(e.gen, e.leasingKey, e.leaseRev, 0);
    }
  }

  /** Deletes our leasing key if it is still the one made at {@code leaseRev}; retried on errors. */
  private void rescind(Generation g, ByteSequence lkey, long leaseRev, int attempt) {
    if (closed || g.dead) {
      return; // the lease is being revoked (or runs out): the key goes with it
    }
    kv.withTimeout(callTimeout).txn().when(Compare.createRevision(lkey).equal(leaseRev))
        .then(Op.delete(lkey)).commit().whenComplete((r, t) -> {
          if (t != null && attempt < RESCIND_ATTEMPTS) {
            SharedExecutors.timer().schedule(() -> rescind(g, lkey, leaseRev, attempt + 1), 50L * (attempt + 1),
                TimeUnit.MILLISECONDS);
          }
        });
  }

  /** Deletes the leasing key if it is on our lease (after an acquire whose outcome is unknown). */
  private void rescindByLease(Generation g, ByteSequence lkey, int attempt) {
    if (closed || g.dead) {
      return;
    }
    kv.withTimeout(callTimeout).txn().when(Compare.lease(lkey).equal(g.leaseId))
        .then(Op.delete(lkey)).commit().whenComplete((r, t) -> {
          if (t != null && attempt < RESCIND_ATTEMPTS) {
            SharedExecutors.timer().schedule(() -> rescindByLease(g, lkey, attempt + 1), 50L * (attempt + 1),
                TimeUnit.MILLISECONDS);
          }
        });
  }

  // ---------------------------------------------------------------------------------------------- writes

  /** A put or single-key delete: guarded by our leasing key when we own the key, else the REVOKE protocol. */
  CompletableFuture<TxnResponse> writeOne(ByteSequence key, Op op, long deadline) {
    checkWritable(key);
    Generation g = gen;
    Entry e = g != null && g.usable() ? g.entries.get(key) : null;
    if (e != null) {
      CompletableFuture<TxnResponse> own = ownWrite(e, op, deadline);
      if (own != null) {
        return own;
      }
    }
    return guardedWrite(List.of(new Range(key, null)), op, deadline);
  }

  /** A write of a key we hold: {@code createRevision(pfx+key) == leaseRev}; null if the entry is gone. */
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
    CompletableFuture<TxnResponse> txn = kv(deadline).thenCompose(k -> k.txn()
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
        evict(e, true);
      } else if (deferred != null) {
        for (WatchEvent ev : deferred) {
          keyEvent(e, ev);
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
      ByteSequence lkey = pfx.concat(r.key());
      if (r.end() == null) {
        guards.add(Compare.createRevision(lkey).equal(0));
        leasingGets.add(Op.get(lkey));
      } else {
        ByteSequence lend = leasingEnd(r.end());
        guards.add(Compare.createRevision(lkey).withRange(lend).less(1));
        leasingGets.add(Op.get(lkey, GetOption.builder().range(lend).build()));
      }
    }
    return kv(deadline).thenCompose(k -> k.txn().when(guards.toArray(Compare[]::new)).then(op)
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
    return end.equals(ByteSequence.NUL) ? pfx.prefixEnd() : pfx.concat(end);
  }

  /** Gets leasing key {@code l} (seen at revision {@code rev}) deleted; completes when it is. */
  private CompletableFuture<Void> revoke(KeyValue l, long rev, long deadline) {
    CompletableFuture<Void> deleted = waitDeleted(l.key(), rev + 1, deadline);
    Generation g = gen;
    if (g != null && l.lease() == g.leaseId) { // ours: give it up ourselves
      ByteSequence key = l.key().substring(pfx.size());
      Entry e = g.entries.get(key);
      if (e != null && e.leaseRev == l.createRevision()) {
        evict(e, false);
      }
      rescind(g, l.key(), l.createRevision(), 0);
    } else if (!l.value().equals(REVOKE)) {
      kv.withTimeout(callTimeout).txn().when(Compare.createRevision(l.key()).equal(l.createRevision()))
          .then(Op.put(l.key(), REVOKE, PutOption.builder().ignoreLease().build())).commit()
          .exceptionally(t -> null); // if it fails, the wait fails by the deadline
    }
    return deleted;
  }

  /** Completes when {@code lkey} is deleted at {@code from} or later; fails at the deadline. */
  private CompletableFuture<Void> waitDeleted(ByteSequence lkey, long from, long deadline) {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      return CompletableFuture.failedFuture(deadlineExceeded());
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    Watcher w = watch.watch(lkey, WatchOption.builder().revision(from).noPut().build(), new WatchListener() {
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
        throw c instanceof TimeoutException ? deadlineExceeded() : Blocking.unchecked(c);
      }
      return null;
    });
  }

  /**
   * A write through the REVOKE protocol succeeded at {@code rev}: a concurrent acquire of a written key must
   * not install an older value, and no cache entry older than the write may stay.
   */
  private void afterWrite(List<Range> ranges, long rev) {
    Generation g = gen;
    for (Range r : ranges) {
      if (r.end() == null) {
        bump(r.key(), rev);
        Entry e = g == null ? null : g.entries.get(r.key());
        if (e != null) {
          evictIfOlder(e, rev);
        }
      } else {
        for (ByteSequence k : List.copyOf(acquiring.keySet())) {
          if (inRange(k, r.key(), r.end())) {
            bump(k, rev);
          }
        }
        if (g != null) {
          for (Entry e : List.copyOf(g.entries.values())) {
            if (inRange(e.key, r.key(), r.end())) {
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
      evict(e, true);
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
      if (underPrefix(c.key())) {
        throw new IllegalArgumentException("a leasing KV does not compare keys under its leasing prefix "
            + pfx + ": " + c.key());
      }
    }
    if (ranges.isEmpty()) { // read-only: straight to the server
      return kv(deadline).thenCompose(k -> k.txn().when(when.toArray(Compare[]::new))
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
          if (underPrefix(c.key())) {
            throw new IllegalArgumentException("a leasing KV does not compare keys under its leasing prefix "
                + pfx + ": " + c.key());
          }
        }
        collectWrites(t.then(), into);
        collectWrites(t.orElse(), into);
      }
    }
  }

  void checkWritable(ByteSequence key) {
    if (underPrefix(key)) {
      throw new IllegalArgumentException("a leasing KV does not write keys under its leasing prefix " + pfx
          + ": " + key);
    }
  }

  private void checkRangeWritable(ByteSequence start, ByteSequence end) {
    // [start, end) meets the prefix range [pfx, pfx.prefixEnd()) unless it lies wholly before or after it
    boolean before = !end.equals(ByteSequence.NUL) && end.compareTo(pfx) <= 0;
    boolean after = start.compareTo(pfx.prefixEnd()) >= 0;
    if (!before && !after) {
      throw new IllegalArgumentException("a leasing KV does not write ranges that overlap its leasing prefix "
          + pfx + ": [" + start + ", " + end + ")");
    }
  }

  static boolean inRange(ByteSequence k, ByteSequence start, ByteSequence end) {
    return k.compareTo(start) >= 0 && (end.equals(ByteSequence.NUL) || k.compareTo(end) < 0);
  }

  // ---------------------------------------------------------------------------------------------- deadlines

  private CompletableFuture<KV> kv(long deadline) {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      return CompletableFuture.failedFuture(deadlineExceeded());
    }
    return CompletableFuture.completedFuture(kv.withTimeout(Duration.ofNanos(left)));
  }

  private static EtcdException deadlineExceeded() {
    return new DeadlineExceededException(ErrorCode.DEADLINE_EXCEEDED,
        "leasing: the operation's deadline passed (waiting for a leasing key to be given up)", null, null);
  }
}
