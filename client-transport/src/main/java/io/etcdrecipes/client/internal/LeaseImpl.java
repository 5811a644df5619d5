package io.etcdrecipes.client.internal;

import io.etcdrecipes.client.KeepAlive;
import io.etcdrecipes.client.KeepAliveListener;
import io.etcdrecipes.client.Lease;
import io.etcdrecipes.client.LeaseGrantResponse;
import io.etcdrecipes.client.LeaseKeepAliveResponse;
import io.etcdrecipes.client.LeaseRevokeResponse;
import io.etcdrecipes.client.LeaseTimeToLiveResponse;
import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.proto.etcdserverpb.LeaseGrantRequest;
import io.etcdrecipes.proto.etcdserverpb.LeaseGrpc;
import io.etcdrecipes.proto.etcdserverpb.LeaseLeasesRequest;
import io.etcdrecipes.proto.etcdserverpb.LeaseRevokeRequest;
import io.etcdrecipes.proto.etcdserverpb.LeaseStatus;
import io.etcdrecipes.proto.etcdserverpb.LeaseTimeToLiveRequest;
import com.google.protobuf.ByteString;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/** The Lease service: unary calls here, keep-alive on the client's one {@link KeepAliveStream}. */
public final class LeaseImpl implements Lease {

  /** etcd's largest TTL (MaxLeaseTTL, 9,000,000,000 s). */
  static final long MAX_TTL = 9_000_000_000L;

  private final Caller caller;
  private final Duration timeout;
  private final KeepAliveStream keepAlives;

  public LeaseImpl(Caller caller, Duration timeout) {
    this(caller, timeout, new KeepAliveStream(caller));
  }

  private LeaseImpl(Caller caller, Duration timeout, KeepAliveStream keepAlives) {
    this.caller = caller;
    this.timeout = timeout;
    this.keepAlives = keepAlives;
  }

  @Override
  public CompletableFuture<LeaseGrantResponse> grant(long ttlSeconds) {
    return grant(ttlSeconds, 0);
  }

  @Override
  public CompletableFuture<LeaseGrantResponse> grant(long ttlSeconds, long leaseId) {
    if (ttlSeconds <= 0 || ttlSeconds > MAX_TTL) {
      return CompletableFuture.failedFuture(new IllegalArgumentException(
          "lease TTL must be between 1 and " + MAX_TTL + " seconds, got " + ttlSeconds + "; nothing was sent"));
    }
    if (leaseId < 0) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("lease ID must be >= 0, got " + leaseId));
    }
    return caller.call(LeaseGrpc.getLeaseGrantMethod(),
            LeaseGrantRequest.newBuilder().setTTL(ttlSeconds).setID(leaseId).build(),
            Caller.Retry.NON_REPEATABLE, timeout)
        .thenApply(r -> new LeaseGrantResponse(KvProtos.header(r.getHeader()), r.getID(), r.getTTL()));
  }

  @Override
  public CompletableFuture<LeaseRevokeResponse> revoke(long leaseId) {
    return caller.call(LeaseGrpc.getLeaseRevokeMethod(), LeaseRevokeRequest.newBuilder().setID(leaseId).build(),
            Caller.Retry.REPEATABLE, timeout)
        .thenApply(r -> new LeaseRevokeResponse(KvProtos.header(r.getHeader())));
  }

  @Override
  public CompletableFuture<LeaseTimeToLiveResponse> timeToLive(long leaseId, boolean withKeys) {
    return caller.call(LeaseGrpc.getLeaseTimeToLiveMethod(),
            LeaseTimeToLiveRequest.newBuilder().setID(leaseId).setKeys(withKeys).build(),
            Caller.Retry.REPEATABLE, timeout)
        .thenApply(r -> {
          List<ByteSequence> keys = new ArrayList<>(r.getKeysCount());
          for (ByteString k : r.getKeysList()) {
            keys.add(Bytes.wrap(k));
          }
          return new LeaseTimeToLiveResponse(KvProtos.header(r.getHeader()), r.getID(), r.getTTL(),
              r.getGrantedTTL(), List.copyOf(keys));
        });
  }

  @Override
  public CompletableFuture<List<Long>> leases() {
    return caller.call(LeaseGrpc.getLeaseLeasesMethod(), LeaseLeasesRequest.getDefaultInstance(),
            Caller.Retry.REPEATABLE, timeout)
        .thenApply(r -> {
          List<Long> ids = new ArrayList<>(r.getLeasesCount());
          for (LeaseStatus s : r.getLeasesList()) {
            ids.add(s.getID());
          }
          return List.copyOf(ids);
        });
  }

  @Override
  public KeepAlive keepAlive(long leaseId, KeepAliveListener listener) {
    return keepAlives.keepAlive(leaseId, Objects.requireNonNull(listener, "listener"));
  }

  @Override
  public KeepAlive keepAlive(long leaseId, long renewedAtNanos, long ttlSeconds, KeepAliveListener listener) {
    if (ttlSeconds <= 0) {
      throw new IllegalArgumentException("ttlSeconds must be > 0, got " + ttlSeconds);
    }
    return keepAlives.keepAlive(leaseId, renewedAtNanos, ttlSeconds, Objects.requireNonNull(listener, "listener"));
  }

  @Override
  public CompletableFuture<LeaseKeepAliveResponse> keepAliveOnce(long leaseId) {
    return keepAlives.once(leaseId, timeout);
  }

  @Override
  public Lease withTimeout(Duration timeout) {
    return new LeaseImpl(caller, KvImpl.positive(timeout), keepAlives);
  }

  public int keptAliveCount() {
    return keepAlives.size();
  }

  /** Whether the keep-alive tick runs (it stops once no lease is kept alive and no keepAliveOnce waits). */
  public boolean keepAliveTicking() {
    return keepAlives.ticking();
  }

  public void close() {
    keepAlives.close();
  }
}
