package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.CompactedException;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.FutureRevisionException;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.client.Txn;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.Outcomes;
import io.etcdrecipes.recipes.internal.SharedExecutors;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Software transactional memory over etcd (Go's {@code concurrency.STM}): a function reads and writes keys
 * through a {@link StmTx}; its writes are committed in one etcd transaction guarded by the compares of the
 * {@link Isolation} level; when the compares fail (someone changed what the function depended on) the
 * function runs again on fresh data.
 *
 * <pre>{@code
 * Stm stm = Stm.builder(client.kv()).isolation(Isolation.SERIALIZABLE_SNAPSHOT).prefetch("acct/a", "acct/b").build();
 * StmResult<Void> r = stm.run(tx -> {
 *   long a = Long.parseLong(tx.get("acct/a")), b = Long.parseLong(tx.get("acct/b"));
 *   tx.put("acct/a", Long.toString(a - 10));
 *   tx.put("acct/b", Long.toString(b + 10));
 *   return null;
 * }, Duration.ofSeconds(10));
 * }</pre>
 *
 * <p>Differences from Go, all on the side of robustness, none in the compares: after two conflicts in a row
 * the next attempt waits a random (full-jitter) backoff, growing to 200 ms (Go retries at once and can
 * livelock); {@link Builder#maxAttempts(int)} bounds the attempts ({@link StmConflictException}); a snapshot
 * read a lagging member cannot serve yet (future revision) is repeated as a linearizable read; a snapshot
 * read that hit compaction restarts the attempt. A failed read or commit is not retried. Failures say whether
 * anything may have been committed: {@link StmOutcomeUnknownException} when a commit was in flight (it may have
 * been applied: make the function idempotent where that matters, e.g. by writing and checking a marker key);
 * any other exception (a failed read, a definite rejection of the commit, {@link TimeoutException} before a
 * commit was sent, {@link StmConflictException}) means nothing was committed.
 *
 * <p>An {@code Stm} is immutable and thread-safe; each run has its own state.
 */
public final class Stm {

  private static final int BACKOFF_AFTER_CONFLICTS = 2;
  private static final long BACKOFF_BASE_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
  private static final long BACKOFF_MAX_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  private final KV kv;
  private final Isolation isolation;
  private final List<ByteSequence> prefetch;
  private final int maxAttempts;
  private final Executor executor;

  private Stm(Builder b) {
    this.kv = b.kv;
    this.isolation = b.isolation;
    this.prefetch = List.copyOf(b.prefetch);
    this.maxAttempts = b.maxAttempts;
    this.executor = b.executor != null ? b.executor : SharedExecutors.pool();
  }

  /** An STM over {@code kv}: a client's {@code kv()}, or a namespaced or ordering wrapper of it. */
  public static Builder builder(KV kv) {
    return new Builder(kv);
  }

  public Isolation isolation() {
    return isolation;
  }

  /**
   * Runs {@code fn} until it commits, for at most {@code timeout} in all. {@link TimeoutException}: the deadline
   * passed before a commit was sent, nothing was committed. {@link StmOutcomeUnknownException}: it passed (or the
   * connection failed) while a commit was in flight, which may have been applied. The function runs in the
   * calling thread.
   */
  public <T, X extends Exception> StmResult<T> run(StmFunction<T, X> fn, Duration timeout)
      throws X, InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + Math.max(0, timeout.toNanos());
    return execute(fn, deadline, true, null);
  }

  /**
   * Runs {@code fn} until it commits, or the thread is interrupted; every read and the commit are bounded by
   * the client's call deadline. An interrupt while a commit is in flight is reported as
   * {@link StmOutcomeUnknownException} (with the interrupt flag set), any other as {@link InterruptedException}.
   * The function runs in the calling thread.
   */
  public <T, X extends Exception> StmResult<T> run(StmFunction<T, X> fn) throws X, InterruptedException {
    try {
      return execute(fn, 0, false, null);
    } catch (TimeoutException e) {
      throw new IllegalStateException("no deadline was set", e);
    }
  }

  /**
   * Runs {@code fn} on the builder's executor (default: a shared pool of recipes-core). The future fails with
   * whatever the function threw, or an {@link EtcdException}. Completing the future early (cancel,
   * {@code orTimeout}) stops the retries at the next read or attempt.
   */
  public <T> CompletableFuture<StmResult<T>> runAsync(StmFunction<T, ?> fn) {
    CompletableFuture<StmResult<T>> f = new CompletableFuture<>();
    executor.execute(() -> {
      try {
        f.complete(execute(fn, 0, false, f));
      } catch (Throwable t) {
        f.completeExceptionally(t);
      }
    });
    return f;
  }

  private <T, X extends Exception> StmResult<T> execute(StmFunction<T, X> fn, long deadline, boolean hasDeadline,
                                                        CompletableFuture<?> token)
      throws X, InterruptedException, TimeoutException {
    Map<ByteSequence, GetResponse> prefetched = new HashMap<>();
    int conflicts = 0;
    for (int attempt = 1; ; attempt++) {
      if (token != null && token.isDone()) {
        throw new CancellationException("STM run was cancelled");
      }
      if (hasDeadline && deadline - System.nanoTime() <= 0) {
        throw new TimeoutException("STM transaction did not commit in time (" + (attempt - 1) + " attempts)");
      }
      Attempt tx = new Attempt(attempt, prefetched, deadline, hasDeadline, token);
      T value;
      try {
        if (!prefetch.isEmpty()) {
          tx.read(prefetch);
        }
        value = fn.apply(tx);
      } catch (RuntimeException | Error e) {
        tx.closed = true;
        tx.rethrowAbort();
        if (tx.restart) {
          prefetched = new HashMap<>();
          continue;
        }
        throw e;
      } catch (Exception e) {
        tx.closed = true;
        tx.rethrowAbort();
        throw e;
      }
      tx.closed = true;
      tx.rethrowAbort(); // a failed read the function swallowed still fails the run
      if (tx.restart) {
        prefetched = new HashMap<>();
        continue;
      }
      TxnResponse r = tx.commit();
      if (r.succeeded()) {
        return new StmResult<>(value, r.header().revision(), attempt);
      }
      conflicts++;
      prefetched = tx.prefetchFromConflict(r);
      if (maxAttempts > 0 && attempt >= maxAttempts) {
        throw new StmConflictException(attempt);
      }
      if (conflicts >= BACKOFF_AFTER_CONFLICTS) {
        long cap = Math.min(BACKOFF_MAX_NANOS, BACKOFF_BASE_NANOS << Math.min(conflicts - BACKOFF_AFTER_CONFLICTS, 10));
        long sleep = ThreadLocalRandom.current().nextLong(cap + 1);
        if (hasDeadline) {
          sleep = Math.min(sleep, Math.max(0, deadline - System.nanoTime()));
        }
        TimeUnit.NANOSECONDS.sleep(sleep);
      }
    }
  }

  /** A buffered write: the value ({@code null} for a delete) and the operation. */
  private record Write(ByteSequence value, Op op) {}

  /** Thrown out of the function to end an attempt; the real reason is in {@link Attempt#abort}. */
  private static final class Abort extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Abort() {
      super(null, null, false, false);
    }
  }

  /** One run of the function: its read set, write set and snapshot revision. */
  private final class Attempt implements StmTx {
    final int number;
    final Map<ByteSequence, GetResponse> rset = new LinkedHashMap<>();
    final Map<ByteSequence, Write> wset = new LinkedHashMap<>();
    final Map<ByteSequence, GetResponse> prefetched;
    final long deadline;
    final boolean hasDeadline;
    final CompletableFuture<?> token;
    long snapshotRev; // serializable levels: the revision of the first read, 0 before it
    boolean closed;
    boolean restart;
    Throwable abort;

    Attempt(int number, Map<ByteSequence, GetResponse> prefetched, long deadline, boolean hasDeadline,
            CompletableFuture<?> token) {
      this.number = number;
      this.prefetched = prefetched;
      this.deadline = deadline;
      this.hasDeadline = hasDeadline;
      this.token = token;
    }

    private boolean snapshotLevel() {
      return isolation == Isolation.SERIALIZABLE_SNAPSHOT || isolation == Isolation.SERIALIZABLE;
    }

    @Override
    public ByteSequence get(ByteSequence key) {
      check();
      Write w = wset.get(Objects.requireNonNull(key, "key"));
      if (w != null) {
        return w.value();
      }
      KeyValue kv1 = read(List.of(key)).first();
      return kv1 == null ? null : kv1.value();
    }

    @Override
    public long rev(ByteSequence key) {
      check();
      KeyValue kv1 = read(List.of(Objects.requireNonNull(key, "key"))).first();
      return kv1 == null ? 0 : kv1.modRevision();
    }

    @Override
    public void put(ByteSequence key, ByteSequence value) {
      put(key, value, PutOption.DEFAULT);
    }

    @Override
    public void put(ByteSequence key, ByteSequence value, PutOption option) {
      check();
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(value, "value");
      wset.put(key, new Write(value, Op.put(key, value, Objects.requireNonNull(option, "option"))));
    }

    @Override
    public void delete(ByteSequence key) {
      check();
      Objects.requireNonNull(key, "key");
      wset.put(key, new Write(null, Op.delete(key)));
    }

    @Override
    public int attempt() {
      return number;
    }

    @Override
    public Isolation isolation() {
      return isolation;
    }

    private void check() {
      if (closed) {
        throw new IllegalStateException("this STM attempt is over; the transaction object cannot be used after"
            + " the function returned");
      }
      if (abort != null || restart) {
        throw new Abort();
      }
    }

    /** Reads {@code keys} into the read set (those not in it yet, in one round trip); the first key's response. */
    GetResponse read(List<ByteSequence> keys) {
      boolean firstRead = rset.isEmpty();
      if (snapshotLevel()) {
        for (ByteSequence k : keys) {
          GetResponse p = prefetched.remove(k);
          if (p != null && !rset.containsKey(k)) {
            rset.put(k, p);
          }
        }
      }
      List<ByteSequence> missing = new ArrayList<>(keys.size());
      for (ByteSequence k : keys) {
        if (!rset.containsKey(k) && !missing.contains(k)) {
          missing.add(k);
        }
      }
      if (!missing.isEmpty()) {
        List<GetResponse> got = fetch(missing);
        for (int i = 0; i < missing.size(); i++) {
          rset.put(missing.get(i), got.get(i));
        }
      }
      GetResponse first = rset.get(keys.get(0));
      if (snapshotLevel() && firstRead) {
        snapshotRev = first.header().revision(); // the transaction's snapshot is its first read
      }
      return first;
    }

    private GetOption readOption() {
      if (!snapshotLevel()) {
        return GetOption.builder().serializable().build();
      }
      return snapshotRev == 0 ? GetOption.DEFAULT
          : GetOption.builder().revision(snapshotRev).serializable().build();
    }

    private List<GetResponse> fetch(List<ByteSequence> keys) {
      GetOption option = readOption();
      try {
        return fetch(keys, option);
      } catch (EtcdException e) {
        if (e instanceof FutureRevisionException && option.isSerializable() && option.revision() > 0) {
          // this member has not applied the snapshot revision yet: a linearizable read at it waits until it has
          try {
            return fetch(keys, option.toBuilder().serializable(false).build());
          } catch (EtcdException e2) {
            throw failed(e2);
          }
        }
        throw failed(e);
      }
    }

    private RuntimeException failed(EtcdException e) {
      if (e instanceof CompactedException && snapshotRev != 0) {
        restart = true; // the snapshot is gone: start over on a fresh one
        return new Abort();
      }
      abort = e;
      return e;
    }

    private List<GetResponse> fetch(List<ByteSequence> keys, GetOption option) {
      if (keys.size() == 1) {
        return List.of(await(kv.get(keys.get(0), option)));
      }
      Op[] gets = new Op[keys.size()];
      for (int i = 0; i < gets.length; i++) {
        gets[i] = Op.get(keys.get(i), option);
      }
      TxnResponse r = await(kv.txn().then(gets).commit());
      List<GetResponse> out = new ArrayList<>(gets.length);
      for (int i = 0; i < gets.length; i++) {
        out.add(r.getResponse(i));
      }
      return out;
    }

    /** Waits for an RPC within the run's deadline; a timeout, interrupt or cancel aborts the run. */
    <R> R await(CompletableFuture<R> f) {
      try {
        if (hasDeadline) {
          return f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
        if (token == null) {
          return f.get();
        }
        while (true) { // async run: stop waiting when the caller's future is completed early
          try {
            return f.get(50, TimeUnit.MILLISECONDS);
          } catch (TimeoutException e) {
            if (token.isDone()) {
              abort = new CancellationException("STM run was cancelled");
              throw new Abort();
            }
          }
        }
      } catch (InterruptedException e) {
        abort = e;
        throw new Abort();
      } catch (TimeoutException e) {
        abort = new TimeoutException("STM transaction did not commit in time (attempt " + number + ")");
        throw new Abort();
      } catch (ExecutionException e) {
        RuntimeException u = Blocking.unchecked(e.getCause());
        if (u instanceof EtcdException ee) {
          throw ee; // classified by the caller (fetch)
        }
        abort = u;
        throw u;
      }
    }

    /** Throws the reason the attempt was aborted, if any, as the type the run declares. */
    void rethrowAbort() throws InterruptedException, TimeoutException {
      Throwable a = abort;
      if (a == null) {
        return;
      }
      if (a instanceof InterruptedException ie) {
        Thread.currentThread().interrupt();
        throw ie;
      }
      if (a instanceof TimeoutException te) {
        throw te;
      }
      if (a instanceof RuntimeException re) {
        throw re;
      }
      if (a instanceof Error err) {
        throw err;
      }
      throw new EtcdException(io.etcdrecipes.client.ErrorCode.UNKNOWN, String.valueOf(a), a);
    }

    /** Go's compare sets, per level, and the commit. */
    TxnResponse commit() throws InterruptedException, TimeoutException {
      List<Compare> cmps = new ArrayList<>();
      if (isolation != Isolation.READ_COMMITTED) {
        for (Map.Entry<ByteSequence, GetResponse> e : rset.entrySet()) {
          KeyValue kv1 = e.getValue().first();
          cmps.add(Compare.modRevision(e.getKey()).equal(kv1 == null ? 0 : kv1.modRevision()));
        }
      }
      if (isolation == Isolation.SERIALIZABLE_SNAPSHOT) {
        long first = Long.MAX_VALUE - 1;
        for (GetResponse r : rset.values()) {
          first = Math.min(first, r.header().revision());
        }
        for (ByteSequence k : wset.keySet()) {
          cmps.add(Compare.modRevision(k).less(first + 1));
        }
      }
      Op[] ops = new Op[wset.size()];
      int i = 0;
      for (Write w : wset.values()) {
        ops[i++] = w.op();
      }
      Txn txn = hasDeadline ? null : kv.txn().when(cmps.toArray(new Compare[0])).then(ops);
      if (txn != null && snapshotLevel()) {
        txn = txn.orElse(readBackOps()); // on conflict, read the read set back in the same round trip
      }
      // The deadline must not pass between the function's return and the send: then nothing may be sent, and
      // the run ends with TimeoutException (nothing committed). The commit itself gets only the time left, so it
      // cannot be applied long after the run gave up on it.
      Txn sendable = txn;
      if (sendable == null) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new TimeoutException("STM transaction did not commit in time (attempt " + number + ", before its commit)");
        }
        sendable = kv.withTimeout(Duration.ofNanos(left)).txn().when(cmps.toArray(new Compare[0])).then(ops);
        if (snapshotLevel()) {
          sendable = sendable.orElse(readBackOps());
        }
      }
      try {
        return await(sendable.commit());
      } catch (Abort a) {
        // The commit was handed to the client: whatever stopped the wait, it may have been applied.
        Throwable why = abort;
        String what = why instanceof TimeoutException ? "the run's deadline passed while it was in flight"
            : why instanceof InterruptedException ? "interrupted while it was in flight"
            : why instanceof CancellationException ? "the run was cancelled while it was in flight"
            : "it failed in flight: " + why;
        if (why instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        throw new StmOutcomeUnknownException(number, what, why);
      } catch (EtcdException e) {
        if (Outcomes.mayHaveApplied(e)) {
          throw new StmOutcomeUnknownException(number, e.getMessage(), e);
        }
        throw e; // a definite rejection: nothing was committed
      }
    }

    /** Gets of the read set, in its order (the next attempt starts from them). */
    Op[] readBackOps() {
      Op[] gets = new Op[rset.size()];
      int j = 0;
      for (ByteSequence k : rset.keySet()) {
        gets[j++] = Op.get(k);
      }
      return gets;
    }

    Map<ByteSequence, GetResponse> prefetchFromConflict(TxnResponse r) {
      Map<ByteSequence, GetResponse> next = new HashMap<>();
      if (!snapshotLevel()) {
        return next;
      }
      int j = 0;
      for (ByteSequence k : rset.keySet()) {
        next.put(k, r.getResponse(j++));
      }
      return next;
    }
  }

  /** Builds an {@link Stm}. */
  public static final class Builder {
    private final KV kv;
    private Isolation isolation = Isolation.SERIALIZABLE_SNAPSHOT;
    private final List<ByteSequence> prefetch = new ArrayList<>();
    private int maxAttempts;
    private Executor executor;

    private Builder(KV kv) {
      this.kv = Objects.requireNonNull(kv, "kv");
    }

    /** The isolation level (default {@link Isolation#SERIALIZABLE_SNAPSHOT}). */
    public Builder isolation(Isolation isolation) {
      this.isolation = Objects.requireNonNull(isolation, "isolation");
      return this;
    }

    /** Keys read in one round trip before the function runs (Go: {@code WithPrefetch}). */
    public Builder prefetch(ByteSequence... keys) {
      for (ByteSequence k : keys) {
        prefetch.add(Objects.requireNonNull(k, "key"));
      }
      return this;
    }

    public Builder prefetch(String... keys) {
      return prefetch(Arrays.stream(keys).map(ByteSequence::of).toArray(ByteSequence[]::new));
    }

    /** Give up with {@link StmConflictException} after this many attempts; 0 (default) means no bound. */
    public Builder maxAttempts(int attempts) {
      if (attempts < 0) {
        throw new IllegalArgumentException("maxAttempts must be >= 0 (0 = unbounded), got " + attempts);
      }
      this.maxAttempts = attempts;
      return this;
    }

    /** Where {@link Stm#runAsync} runs the function (default: a shared pool of recipes-core). */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    public Stm build() {
      return new Stm(this);
    }
  }
}
