package io.etcdrecipes.recipes.leasing;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.CompactResponse;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.DeleteOption;
import io.etcdrecipes.client.DeleteResponse;
import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.client.PutResponse;
import io.etcdrecipes.client.RangeIterator;
import io.etcdrecipes.client.Txn;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionPolicy;
import io.etcdrecipes.recipes.internal.Blocking;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A KV that serves linearizable reads of single keys from a local cache while this client holds the key's
 * <em>leasing key</em> (Go: {@code clientv3/leasing}, same protocol and key layout). Reads of a key not cached
 * try to acquire it: a transaction that creates {@code prefix + key} on this client's {@link Session} lease if
 * no one holds it (and the key itself has no lease). A writer that does not hold a key puts {@code "REVOKE"}
 * into its leasing key (keeping the owner's lease); the owner stops serving the key from its cache, deletes
 * the leasing key, and the writer's write, guarded by "no leasing key", goes through.
 *
 * <pre>{@code
 * try (LeasingKV lkv = LeasingKV.builder(client, "/leasing/").build()) {
 *   lkv.get("config/a").join();   // miss: from the server, now cached
 *   lkv.get("config/a").join();   // hit: the value from the cache, confirmed current by a keys-only read
 *   lkv.put("config/a", "2").join();   // we hold it: a guarded put, the cache follows
 * }                                 // the session's lease is revoked: our leasing keys are gone at once
 * }</pre>
 * With {@code .cachedReads(CachedReads.LOCAL)} a hit needs no RPC at all, at the price described under
 * "Guarantees".
 *
 * <h2>What is cached</h2>
 * Only single-key, linearizable, current-revision gets with no other option ({@link GetOption#DEFAULT}); a
 * cached get answers with the cached key-value and the header revision of the cache entry (the newest revision
 * the value is known current at: read, written or, with {@link CachedReads#CONFIRMED}, confirmed). Everything
 * else goes to the server: ranges, {@code revision}, serializable, sort, limit, keys-only, count-only, min/max
 * revisions, reads of keys under the leasing prefix, and every transaction (even read-only ones). At most one client caches a key at a time (the holder of its leasing
 * key); other leasing clients read it from the server. After giving a key up, this client does not try to
 * acquire it again for {@link Builder#revokeBackoff(Duration) revokeBackoff} (default 2 s, as Go).
 *
 * <h2>Writes</h2>
 * A put or single-key delete of a key this client holds is one transaction guarded by
 * {@code createRevision(prefix + key) == ours}, and the cache follows it; reads of the key wait for it. Any
 * other write (a key held by someone else or no one, a range delete, a transaction with writes) runs guarded
 * by "no leasing key for any key it writes" (ranges: no leasing key in the range); while that fails, each
 * leasing key found is revoked (ours: given up at once) and the write waits until it is deleted, then tries
 * again. Every wait is bounded by the operation's timeout ({@link Builder#timeout}, default the client's call
 * timeout); a write to a key held by a client that died waits until that client's session TTL runs out, so
 * it fails with a {@link io.etcdrecipes.client.DeadlineExceededException} if the timeout is shorter.
 * Writes of keys under the leasing prefix, ranges overlapping it, and compares on it are rejected with an
 * {@link IllegalArgumentException}. A put with a lease or {@code ignoreValue}/{@code ignoreLease} is written
 * and the key is then no longer cached (a key with a lease is never cached).
 *
 * <h2>Guarantees</h2>
 * Which reads are linearizable depends on {@link Builder#cachedReads(CachedReads)}:
 * <ul>
 *   <li><b>{@link CachedReads#CONFIRMED} (default):</b> every read is linearizable, whoever wrote the key —
 *       leasing clients, plain clients, anyone deleting a leasing key or revoking a lease. A cached value is
 *       served only after the server confirmed, by a read that started after this one, that the key's mod
 *       revision is still the cached one. Concurrent reads share that confirmation: one keys-only read (a
 *       read-only transaction for several keys) answers every read queued while the previous one was in
 *       flight. So a hit costs a small
 *       round trip that carries no values (and many concurrent hits cost one), not no round trip.</li>
 *   <li><b>{@link CachedReads#LOCAL} (Go's leasing):</b> a hit costs no round trip. Reads are linearizable
 *       for writes made through leasing clients on the same prefix: a read that starts after such a write
 *       completed never returns an older value. <b>Plain writers</b> (a client writing the key directly, or
 *       anyone deleting a leasing key or revoking a session's lease) wait for nobody, so no client-side cache
 *       that skips the round trip can be linearizable against them. The holder of a key watches the key
 *       itself and its leasing key (both watches are created before the acquire transaction, so the server
 *       sends their events at once, not from its 100 ms catch-up loop) and gives the key up on any event that
 *       is not its own guarded write. So a plain write is seen by every read of this client that starts after
 *       the write's watch event reached this client and its callback ran (the watch delivery delay: usually
 *       under 10 ms on a loaded local test machine, once 57 ms there, measured in {@code LeasingHistoryTest};
 *       not bounded in time when the network between this client and etcd stalls). In that window a cached read may return the value the plain write
 *       replaced.</li>
 *   <li><b>Always:</b> reads through one LeasingKV never go back in time: a read never returns an older
 *       value of a key than a read or write of that key through the same LeasingKV that completed before it
 *       started (single-key reads; a range read that returns a newer value of a cached key drops that key
 *       from the cache).</li>
 *   <li><b>Session:</b> when the session is {@code LOST}, or {@code SUSPENDED} under the default
 *       {@link SessionPolicy#SUSPENDED_IS_LOST}, the cache and all leasing state are dropped at once (checked
 *       on every cached read), the old lease is revoked if still reachable, and a new session is opened; reads
 *       go to the server until it is up. Writes never need the session.</li>
 * </ul>
 *
 * <p>Threads: nothing here blocks a gRPC or callback thread; every operation is a chain of futures. There are
 * no user callbacks. Thread-safe. {@link #close()} closes the watches and the session (revoking its lease).
 */
public final class LeasingKV implements KV, AutoCloseable {

  private final LeasingCore core;
  private final Duration timeout;

  private LeasingKV(LeasingCore core, Duration timeout) {
    this.core = core;
    this.timeout = timeout;
  }

  /** A leasing KV over {@code client}, with leasing keys under {@code prefix} (shared by every participant). */
  public static Builder builder(EtcdClient client, ByteSequence prefix) {
    return new Builder(client, prefix);
  }

  public static Builder builder(EtcdClient client, String prefix) {
    return new Builder(client, ByteSequence.of(Objects.requireNonNull(prefix, "prefix")));
  }

  /** The leasing prefix. */
  public ByteSequence prefix() {
    return core.pfx;
  }

  /**
   * Gets answered from the cache so far (with {@link CachedReads#CONFIRMED}: the value came from the cache,
   * its currency from a shared keys-only confirmation).
   */
  public long hits() {
    return core.hits.sum();
  }

  /** Cacheable gets (see the class comment) that went to the server so far. */
  public long misses() {
    return core.misses.sum();
  }

  /** Confirmation rounds so far ({@link CachedReads#CONFIRMED}; one round answers many hits). */
  public long confirmations() {
    return core.confirmer.batches.sum();
  }

  /** How cached reads are answered (see the class comment). */
  public CachedReads cachedReads() {
    return core.cachedReads;
  }

  /** How many keys are cached now. */
  public int cachedKeys() {
    return core.cachedKeys();
  }

  /** Whether {@code key} is cached now (this client holds its leasing key). */
  public boolean isCached(ByteSequence key) {
    return core.isCached(key);
  }

  public boolean isCached(String key) {
    return isCached(ByteSequence.of(key));
  }

  /** The lease of the current session, or 0 while no session is up. */
  public long leaseId() {
    Generation g = core.generation();
    return g == null ? 0 : g.leaseId;
  }

  private long deadline() {
    return System.nanoTime() + timeout.toNanos();
  }

  @Override
  public CompletableFuture<GetResponse> get(ByteSequence key, GetOption option) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(option, "option");
    return core.get(key, option, deadline());
  }

  @Override
  public CompletableFuture<PutResponse> put(ByteSequence key, ByteSequence value, PutOption option) {
    Op op = Op.put(key, value, option);
    if (key.isEmpty()) {
      return core.kv.put(key, value, option); // the server's "key is not provided"
    }
    return guard(() -> core.writes.writeOne(key, op, deadline()))
        .thenApply(r -> new PutResponse(r.header(), r.putResponse(0).prevKv()));
  }

  @Override
  public CompletableFuture<DeleteResponse> delete(ByteSequence key, DeleteOption option) {
    Objects.requireNonNull(option, "option");
    if (key.isEmpty() && option.rangeEnd(key) == null) {
      return core.kv.delete(key, option);
    }
    Op op = Op.delete(key, option);
    CompletableFuture<TxnResponse> r = option.rangeEnd(key) == null
        ? guard(() -> core.writes.writeOne(key, op, deadline()))
        : guard(() -> core.writes.deleteRange(key, option, deadline()));
    return r.thenApply(t -> {
      DeleteResponse d = t.deleteResponse(0);
      return new DeleteResponse(t.header(), d.deleted(), d.prevKvs());
    });
  }

  /** Runs {@code write}, turning an argument the leasing KV cannot take into a failed future. */
  private static CompletableFuture<TxnResponse> guard(java.util.function.Supplier<CompletableFuture<TxnResponse>> write) {
    try {
      return write.get();
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  @Override
  public CompletableFuture<CompactResponse> compact(long revision, boolean physical) {
    return core.kv.compact(revision, physical);
  }

  /**
   * A transaction, always run on the server. If it may write (puts and deletes in either branch, nested
   * ones included), every key it may write is first revoked from its holder (and given up if it is ours),
   * and it runs guarded by those leasing keys being absent. Compares or writes on the leasing prefix fail
   * the commit with an {@link IllegalArgumentException}.
   */
  @Override
  public Txn txn() {
    return new Txn() {
      private final Txn rules = core.kv.txn(); // Go's call-order rules, checked as the calls come
      private List<Compare> when = List.of();
      private List<Op> then = List.of();
      private List<Op> orElse = List.of();

      @Override
      public Txn when(Compare... compares) {
        rules.when(compares);
        when = List.copyOf(Arrays.asList(compares));
        return this;
      }

      @Override
      public Txn then(Op... ops) {
        rules.then(ops);
        then = List.copyOf(Arrays.asList(ops));
        return this;
      }

      @Override
      public Txn orElse(Op... ops) {
        rules.orElse(ops);
        orElse = List.copyOf(Arrays.asList(ops));
        return this;
      }

      @Override
      public CompletableFuture<TxnResponse> commit() {
        return guard(() -> core.writes.txn(new ArrayList<>(when), then, orElse, deadline()));
      }
    };
  }

  /** Iterates on the server (never from the cache). */
  @Override
  public RangeIterator iterate(ByteSequence key, GetOption option, int pageSize) {
    return core.kv.withTimeout(timeout).iterate(key, option, pageSize);
  }

  /** A view with another per-operation timeout, sharing this one's cache, session and counters. */
  @Override
  public KV withTimeout(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be > 0, got " + timeout);
    }
    return new LeasingKV(core, timeout);
  }

  /**
   * Empties the cache, closes the watches and closes the session, revoking its lease so that every leasing
   * key of this client is deleted at once (waits for the revoke at most the session's close timeout).
   * Closing a {@link #withTimeout} view closes the whole leasing KV. Idempotent.
   */
  @Override
  public void close() {
    core.close();
  }

  @Override
  public String toString() {
    return "LeasingKV{prefix=" + core.pfx + ", reads=" + core.cachedReads + ", lease=" + Long.toHexString(leaseId())
        + ", cached=" + cachedKeys()
        + ", hits=" + hits() + ", misses=" + misses() + "}";
  }

  /** How a read of a cached key is answered; see "Guarantees" in the class comment. */
  public enum CachedReads {
    /**
     * From the cache once the server confirmed (keys only, batched across concurrent reads) that the cached
     * version is still current: linearizable against every writer. The default.
     */
    CONFIRMED,
    /**
     * From the cache with no round trip (Go's leasing): linearizable against writes through leasing clients;
     * a plain write is seen once its watch event reached this client.
     */
    LOCAL
  }

  /** Builds a {@link LeasingKV}. */
  public static final class Builder {
    private final EtcdClient client;
    private final ByteSequence prefix;
    private Duration sessionTtl = Session.DEFAULT_TTL;
    private SessionPolicy policy = SessionPolicy.SUSPENDED_IS_LOST;
    private Duration revokeBackoff = Duration.ofSeconds(2);
    private Duration timeout;
    private CachedReads cachedReads = CachedReads.CONFIRMED;
    private final java.util.Set<String> set = new java.util.HashSet<>();

    /** Each setter may be called once: a second call is a mistake, not an override. */
    private void once(String name) {
      if (!set.add(name)) {
        throw new IllegalStateException(name + " is already set");
      }
    }

    private Builder(EtcdClient client, ByteSequence prefix) {
      this.client = Objects.requireNonNull(client, "client");
      this.prefix = Objects.requireNonNull(prefix, "prefix");
      if (prefix.isEmpty()) {
        throw new IllegalArgumentException("the leasing prefix must not be empty");
      }
    }

    /** TTL of the sessions holding the leasing keys (default 60 s, as Go); whole seconds, at least 1. */
    public Builder sessionTtl(Duration ttl) {
      Objects.requireNonNull(ttl, "ttl");
      once("sessionTtl");
      if (ttl.getNano() != 0 || ttl.getSeconds() < 1) {
        throw new IllegalArgumentException("a session TTL is whole seconds, at least 1; got " + ttl);
      }
      this.sessionTtl = ttl;
      return this;
    }

    /** Whether a suspended session already empties the cache (default: yes, {@link SessionPolicy#SUSPENDED_IS_LOST}). */
    public Builder sessionPolicy(SessionPolicy policy) {
      once("sessionPolicy");
      this.policy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /** How long after giving a key up this client does not try to acquire it again (default 2 s). */
    public Builder revokeBackoff(Duration backoff) {
      Objects.requireNonNull(backoff, "backoff");
      once("revokeBackoff");
      if (backoff.isNegative()) {
        throw new IllegalArgumentException("revokeBackoff must be >= 0, got " + backoff);
      }
      this.revokeBackoff = backoff;
      return this;
    }

    /**
     * How reads of cached keys are answered (default {@link CachedReads#CONFIRMED}: linearizable against every
     * writer). {@link CachedReads#LOCAL} saves the round trip when every writer of the keys uses a leasing
     * client on this prefix.
     */
    public Builder cachedReads(CachedReads cachedReads) {
      once("cachedReads");
      this.cachedReads = Objects.requireNonNull(cachedReads, "cachedReads");
      return this;
    }

    /**
     * The deadline of each operation, waits for other clients to give keys up included (default: the
     * client's call timeout).
     */
    public Builder timeout(Duration timeout) {
      Objects.requireNonNull(timeout, "timeout");
      once("timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeout must be > 0, got " + timeout);
      }
      this.timeout = timeout;
      return this;
    }

    /**
     * Opens the first session, waiting at most {@code timeout}, and returns the leasing KV. On
     * {@link TimeoutException} or interrupt everything opened is closed again (the session's lease revoked).
     * Fails with the session's {@link EtcdException}; later session losses are handled inside (a new session is
     * opened).
     */
    public LeasingKV build(Duration timeout) throws InterruptedException, TimeoutException {
      Blocking.checkTimeout(timeout, "timeout");
      return await(timeout);
    }

    /**
     * {@link #build(Duration)} bounded by the session's grant (one RPC within the client's call timeout);
     * interruptible.
     */
    public LeasingKV build() throws InterruptedException {
      try {
        return await(null);
      } catch (TimeoutException e) {
        throw new IllegalStateException("no timeout was set", e);
      }
    }

    /** {@link #build()} without blocking; cancelling the future closes what was opened. */
    public CompletableFuture<LeasingKV> buildAsync() {
      Duration t = timeout != null ? timeout : client.config().callTimeout();
      LeasingCore core = new LeasingCore(client, prefix, sessionTtl, policy, revokeBackoff,
          client.config().callTimeout(), cachedReads);
      CompletableFuture<LeasingKV> result = core.start().thenApply(v -> new LeasingKV(core, t));
      result.whenComplete((kv, e) -> {
        if (e != null) {
          core.close();
        }
      });
      return result;
    }

    private LeasingKV await(Duration waitAtMost) throws InterruptedException, TimeoutException {
      CompletableFuture<LeasingKV> f = buildAsync();
      try {
        return waitAtMost == null ? Blocking.await(f) : Blocking.await(f, waitAtMost);
      } catch (InterruptedException | TimeoutException e) {
        f.cancel(false);
        throw e;
      }
    }
  }
}
