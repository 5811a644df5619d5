package io.etcdrecipes.recipes.leasing;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.DeadlineExceededException;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
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
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The shared state of a {@link LeasingKV} (and of its {@link LeasingKV#withTimeout} views): sessions, the
 * cache and how reads use it; writes are {@link LeasingWrites}.
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
  final LeasingWrites writes;

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
    this.writes = new LeasingWrites(this);
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
    bumpRange(option.rangeStart(key), end, rev);
    for (KeyValue kv : r.kvs()) {
      checkNewer(kv.key(), kv, rev, false);
    }
  }

  void bump(ByteSequence key, long rev) {
    Acquire a = acquiring.get(key);
    if (a != null) {
      synchronized (a) {
        if (!a.finished && rev > a.maxServed) {
          a.maxServed = rev;
        }
      }
    }
  }

  /** {@link #bump} for every key in [start, end) being acquired now. */
  void bumpRange(ByteSequence start, ByteSequence end, long rev) {
    for (ByteSequence k : List.copyOf(acquiring.keySet())) {
      if (inRange(k, start, end)) {
        bump(k, rev);
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
  void keyEvent(Entry e, WatchEvent ev) {
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
  void rescind(Generation g, ByteSequence lkey, long leaseRev, int attempt) {
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

  static boolean inRange(ByteSequence k, ByteSequence start, ByteSequence end) {
    return k.compareTo(start) >= 0 && (end.equals(ByteSequence.NUL) || k.compareTo(end) < 0);
  }

  // ---------------------------------------------------------------------------------------------- deadlines

  CompletableFuture<KV> kv(long deadline) {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      return CompletableFuture.failedFuture(deadlineExceeded());
    }
    return CompletableFuture.completedFuture(kv.withTimeout(Duration.ofNanos(left)));
  }

  static EtcdException deadlineExceeded() {
    return new DeadlineExceededException(ErrorCode.DEADLINE_EXCEEDED,
        "leasing: the operation's deadline passed (waiting for a leasing key to be given up)", null, null);
  }
}
