package io.etcdrecipes.client.ordering;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.CompactResponse;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.DeleteOption;
import io.etcdrecipes.client.DeleteResponse;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.OpResponse;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.client.PutResponse;
import io.etcdrecipes.client.RangeIterator;
import io.etcdrecipes.client.Txn;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.client.internal.Errors;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * A KV that never goes back in time (Go: {@code clientv3/ordering}). It remembers the highest response
 * revision it has seen; a get or transaction answered at a lower revision (a serializable read from a
 * lagging member, say) is an order violation, handed to the {@link OrderViolationHandler}, which either
 * lets the request be sent again or fails it. Writes pass through and raise the remembered revision.
 */
public final class OrderingKV implements KV {

  private final KV kv;
  private final OrderViolationHandler handler;
  private final AtomicLong previousRevision;

  public OrderingKV(KV kv, OrderViolationHandler handler) {
    this(kv, handler, new AtomicLong());
  }

  private OrderingKV(KV kv, OrderViolationHandler handler, AtomicLong previousRevision) {
    this.kv = Objects.requireNonNull(kv, "kv");
    this.handler = Objects.requireNonNull(handler, "handler");
    this.previousRevision = previousRevision;
  }

  /** The highest revision seen so far. */
  public long previousRevision() {
    return previousRevision.get();
  }

  private void observe(long revision) {
    previousRevision.accumulateAndGet(revision, Math::max);
  }

  /** Runs {@code request} until its response is not older than what was seen, or the handler says stop. */
  private <T extends OpResponse> CompletableFuture<T> ordered(Supplier<CompletableFuture<T>> request) {
    long prev = previousRevision.get();
    return request.get().thenCompose(r -> {
      long rev = r.header().revision();
      if (rev >= prev) {
        observe(rev);
        return CompletableFuture.completedFuture(r);
      }
      try {
        handler.onViolation(r, prev);
      } catch (RuntimeException e) {
        return CompletableFuture.failedFuture(Errors.toEtcdException(e));
      }
      return ordered(request);
    });
  }

  @Override
  public CompletableFuture<GetResponse> get(ByteSequence key, GetOption option) {
    return ordered(() -> kv.get(key, option));
  }

  @Override
  public CompletableFuture<PutResponse> put(ByteSequence key, ByteSequence value, PutOption option) {
    return kv.put(key, value, option).whenComplete((r, e) -> {
      if (r != null) {
        observe(r.header().revision());
      }
    });
  }

  @Override
  public CompletableFuture<DeleteResponse> delete(ByteSequence key, DeleteOption option) {
    return kv.delete(key, option).whenComplete((r, e) -> {
      if (r != null) {
        observe(r.header().revision());
      }
    });
  }

  @Override
  public CompletableFuture<CompactResponse> compact(long revision, boolean physical) {
    return kv.compact(revision, physical);
  }

  @Override
  public Txn txn() {
    return new Txn() {
      private Compare[] when = new Compare[0];
      private Op[] then = new Op[0];
      private Op[] orElse = new Op[0];
      private final Txn rules = kv.txn(); // checks Go's call-order rules as the calls come

      @Override
      public Txn when(Compare... compares) {
        rules.when(compares);
        when = compares.clone();
        return this;
      }

      @Override
      public Txn then(Op... ops) {
        rules.then(ops);
        then = ops.clone();
        return this;
      }

      @Override
      public Txn orElse(Op... ops) {
        rules.orElse(ops);
        orElse = ops.clone();
        return this;
      }

      @Override
      public CompletableFuture<TxnResponse> commit() {
        return ordered(() -> kv.txn().when(when).then(then).orElse(orElse).commit());
      }
    };
  }

  @Override
  public RangeIterator iterate(ByteSequence key, GetOption option, int pageSize) {
    return kv.iterate(key, option, pageSize);
  }

  @Override
  public KV withTimeout(Duration timeout) {
    return new OrderingKV(kv.withTimeout(timeout), handler, previousRevision);
  }
}
