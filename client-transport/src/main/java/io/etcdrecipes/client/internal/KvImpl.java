package io.etcdrecipes.client.internal;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.CompactResponse;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.DeleteOption;
import io.etcdrecipes.client.DeleteResponse;
import io.etcdrecipes.client.EmptyKeyException;
import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.client.PutResponse;
import io.etcdrecipes.client.RangeIterator;
import io.etcdrecipes.client.RequestTooLargeException;
import io.etcdrecipes.client.ServerError;
import io.etcdrecipes.client.Txn;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.proto.etcdserverpb.CompactionRequest;
import io.etcdrecipes.proto.etcdserverpb.KVGrpc;
import com.google.protobuf.MessageLite;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/** The KV service over the wire. Validates what it can before anything is sent. */
public final class KvImpl implements KV {

  private final Caller caller;
  private final KvProtos protos;
  private final Duration timeout;
  private final int maxRequestBytes;

  public KvImpl(Caller caller, KvProtos protos, Duration timeout) {
    this.caller = caller;
    this.protos = protos;
    this.timeout = timeout;
    this.maxRequestBytes = caller.connection().config().maxOutboundMessageSize();
  }

  public KvProtos protos() {
    return protos;
  }

  @Override
  public CompletableFuture<GetResponse> get(ByteSequence key, GetOption option) {
    Objects.requireNonNull(option, "option");
    if (isEmpty(key) && !option.isPrefix() && !option.isFromKey()) {
      return emptyKey();
    }
    return caller.call(KVGrpc.getRangeMethod(), protos.range(key, option), Caller.Retry.REPEATABLE, timeout, null,
        protos::getResponse);
  }

  @Override
  public CompletableFuture<PutResponse> put(ByteSequence key, ByteSequence value, PutOption option) {
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(option, "option");
    if (isEmpty(key)) {
      return emptyKey();
    }
    var request = protos.put(key, value, option);
    CompletableFuture<PutResponse> tooLarge = checkSize(request);
    if (tooLarge != null) {
      return tooLarge;
    }
    return caller.call(KVGrpc.getPutMethod(), request, Caller.Retry.NON_REPEATABLE, timeout, null,
        protos::putResponse);
  }

  @Override
  public CompletableFuture<DeleteResponse> delete(ByteSequence key, DeleteOption option) {
    Objects.requireNonNull(option, "option");
    if (isEmpty(key) && !option.isPrefix() && !option.isFromKey()) {
      return emptyKey();
    }
    return caller.call(KVGrpc.getDeleteRangeMethod(), protos.delete(key, option), Caller.Retry.NON_REPEATABLE,
        timeout, null, protos::deleteResponse);
  }

  @Override
  public CompletableFuture<CompactResponse> compact(long revision, boolean physical) {
    if (revision <= 0) {
      return CompletableFuture.failedFuture(
          new IllegalArgumentException("compaction revision must be > 0, got " + revision));
    }
    return caller.call(KVGrpc.getCompactMethod(),
            CompactionRequest.newBuilder().setRevision(revision).setPhysical(physical).build(),
            Caller.Retry.NON_REPEATABLE, timeout)
        .thenApply(r -> new CompactResponse(KvProtos.header(r.getHeader())));
  }

  @Override
  public Txn txn() {
    return new TxnBuilder();
  }

  @Override
  public RangeIterator iterate(ByteSequence key, GetOption option, int pageSize) {
    return new RangeIterator(this, key, option, pageSize, timeout);
  }

  @Override
  public KV withTimeout(Duration timeout) {
    return new KvImpl(caller, protos, positive(timeout));
  }

  CompletableFuture<TxnResponse> commit(List<Compare> when, List<Op> then, List<Op> orElse) {
    for (Compare c : when) {
      if (c.key().isEmpty()) {
        return emptyKey();
      }
    }
    var request = protos.txn(when, then, orElse);
    CompletableFuture<TxnResponse> tooLarge = checkSize(request);
    if (tooLarge != null) {
      return tooLarge;
    }
    boolean readOnly = then.stream().allMatch(o -> o instanceof Op.Get)
        && orElse.stream().allMatch(o -> o instanceof Op.Get);
    return caller.call(KVGrpc.getTxnMethod(), request,
        readOnly ? Caller.Retry.REPEATABLE : Caller.Retry.NON_REPEATABLE, timeout, null, protos::txnResponse);
  }

  private <T> CompletableFuture<T> checkSize(MessageLite request) {
    int size = request.getSerializedSize();
    if (size > maxRequestBytes) {
      return CompletableFuture.failedFuture(new RequestTooLargeException(ErrorCode.INVALID_ARGUMENT,
          "request of " + size + " bytes is larger than the client's limit of " + maxRequestBytes
              + " bytes (maxOutboundMessageSize); nothing was sent", ServerError.REQUEST_TOO_LARGE, null));
    }
    return null;
  }

  private static boolean isEmpty(ByteSequence key) {
    return Objects.requireNonNull(key, "key").isEmpty();
  }

  private static <T> CompletableFuture<T> emptyKey() {
    return CompletableFuture.failedFuture(new EmptyKeyException(ErrorCode.INVALID_ARGUMENT,
        "etcdserver: key is not provided (rejected by the client; nothing was sent)", ServerError.EMPTY_KEY, null));
  }

  static Duration positive(Duration d) {
    Objects.requireNonNull(d, "timeout");
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, got " + d);
    }
    return d;
  }

  /** Go's txn builder rules: when, then, orElse, each at most once and in that order. */
  private final class TxnBuilder implements Txn {
    private List<Compare> when = List.of();
    private List<Op> then = List.of();
    private List<Op> orElse = List.of();
    private boolean whenCalled;
    private boolean thenCalled;
    private boolean elseCalled;

    @Override
    public Txn when(Compare... compares) {
      if (whenCalled) {
        throw new IllegalStateException("when() called twice");
      }
      if (thenCalled || elseCalled) {
        throw new IllegalStateException("when() must come before then() and orElse()");
      }
      whenCalled = true;
      when = new ArrayList<>(Arrays.asList(compares));
      return this;
    }

    @Override
    public Txn then(Op... ops) {
      if (thenCalled) {
        throw new IllegalStateException("then() called twice");
      }
      if (elseCalled) {
        throw new IllegalStateException("then() must come before orElse()");
      }
      thenCalled = true;
      then = new ArrayList<>(Arrays.asList(ops));
      return this;
    }

    @Override
    public Txn orElse(Op... ops) {
      if (elseCalled) {
        throw new IllegalStateException("orElse() called twice");
      }
      elseCalled = true;
      orElse = new ArrayList<>(Arrays.asList(ops));
      return this;
    }

    @Override
    public CompletableFuture<TxnResponse> commit() {
      return KvImpl.this.commit(when, then, orElse);
    }
  }
}
