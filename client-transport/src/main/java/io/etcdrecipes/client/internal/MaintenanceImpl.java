package io.etcdrecipes.client.internal;

import io.etcdrecipes.client.Alarm;
import io.etcdrecipes.client.AlarmResponse;
import io.etcdrecipes.client.AlarmType;
import io.etcdrecipes.client.DefragmentResponse;
import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.HashKVResponse;
import io.etcdrecipes.client.HashResponse;
import io.etcdrecipes.client.Maintenance;
import io.etcdrecipes.client.MoveLeaderResponse;
import io.etcdrecipes.client.ServerError;
import io.etcdrecipes.client.StatusResponse;
import io.etcdrecipes.proto.etcdserverpb.AlarmMember;
import io.etcdrecipes.proto.etcdserverpb.AlarmRequest;
import io.etcdrecipes.proto.etcdserverpb.DefragmentRequest;
import io.etcdrecipes.proto.etcdserverpb.HashKVRequest;
import io.etcdrecipes.proto.etcdserverpb.HashRequest;
import io.etcdrecipes.proto.etcdserverpb.MaintenanceGrpc;
import io.etcdrecipes.proto.etcdserverpb.MoveLeaderRequest;
import io.etcdrecipes.proto.etcdserverpb.SnapshotRequest;
import io.etcdrecipes.proto.etcdserverpb.SnapshotResponse;
import io.etcdrecipes.proto.etcdserverpb.StatusRequest;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The Maintenance service. Calls aimed at one member use that member's existing channel
 * ({@link Connection#channel(URI)}) and do not fail over; the snapshot is a server stream with flow control,
 * written to the caller's stream one chunk at a time.
 */
public final class MaintenanceImpl implements Maintenance {

  private final Caller caller;
  private final Duration timeout;

  public MaintenanceImpl(Caller caller, Duration timeout) {
    this.caller = caller;
    this.timeout = timeout;
  }

  // ------------------------------------------------------------------ calls aimed at one member

  @Override
  public CompletableFuture<StatusResponse> status(URI endpoint) {
    return atEndpoint(endpoint, target -> status(target, timeout));
  }

  private CompletableFuture<StatusResponse> status(Connection.EndpointChannel target, Duration timeout) {
    return caller.call(MaintenanceGrpc.getStatusMethod(), StatusRequest.getDefaultInstance(),
        Caller.Retry.REPEATABLE, timeout, target,
        r -> new StatusResponse(KvProtos.header(r.getHeader()), r.getVersion(), r.getDbSize(),
            r.getDbSizeInUse(), r.getLeader(), r.getRaftIndex(), r.getRaftTerm(), r.getRaftAppliedIndex(),
            r.getErrorsList(), r.getIsLearner()));
  }

  /** Runs {@code call} on the client's channel to {@code endpoint}, or fails naming an unknown endpoint. */
  private <T> CompletableFuture<T> atEndpoint(URI endpoint,
                                              java.util.function.Function<Connection.EndpointChannel, CompletableFuture<T>> call) {
    Connection.EndpointChannel target;
    try {
      target = target(endpoint);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(e);
    }
    return call.apply(target);
  }

  @Override
  public CompletableFuture<DefragmentResponse> defragment(URI endpoint) {
    return atEndpoint(endpoint, target -> caller.call(MaintenanceGrpc.getDefragmentMethod(),
        DefragmentRequest.getDefaultInstance(), Caller.Retry.NON_REPEATABLE, timeout, target,
        r -> new DefragmentResponse(KvProtos.header(r.getHeader()))));
  }

  @Override
  public CompletableFuture<HashResponse> hash(URI endpoint) {
    return atEndpoint(endpoint, target -> caller.call(MaintenanceGrpc.getHashMethod(),
        HashRequest.getDefaultInstance(), Caller.Retry.REPEATABLE, timeout, target,
        r -> new HashResponse(KvProtos.header(r.getHeader()), Integer.toUnsignedLong(r.getHash()))));
  }

  @Override
  public CompletableFuture<HashKVResponse> hashKV(URI endpoint, long revision) {
    if (revision < 0) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("revision must be >= 0, got " + revision));
    }
    return atEndpoint(endpoint, target -> caller.call(MaintenanceGrpc.getHashKVMethod(),
        HashKVRequest.newBuilder().setRevision(revision).build(), Caller.Retry.REPEATABLE, timeout, target,
        r -> new HashKVResponse(KvProtos.header(r.getHeader()), Integer.toUnsignedLong(r.getHash()),
            r.getCompactRevision())));
  }

  /** The client's channel to {@code endpoint}; {@link IllegalArgumentException} naming it when there is none. */
  private Connection.EndpointChannel target(URI endpoint) {
    Objects.requireNonNull(endpoint, "endpoint");
    Connection.EndpointChannel c;
    try {
      c = caller.connection().channel(Endpoints.parseOne(endpoint.toString()));
    } catch (IllegalArgumentException e) {
      c = null;
    }
    if (c == null) {
      throw new IllegalArgumentException("\"" + endpoint + "\" is not an endpoint of this client; its endpoints are "
          + caller.connection().channels());
    }
    return c;
  }

  // ------------------------------------------------------------------ cluster-wide calls

  @Override
  public CompletableFuture<AlarmResponse> alarmList() {
    return caller.call(MaintenanceGrpc.getAlarmMethod(),
            AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.GET).build(),
            Caller.Retry.REPEATABLE, timeout)
        .thenApply(MaintenanceImpl::alarms);
  }

  /**
   * As Go does: the server clears only an exact (member, alarm) pair, so "any member, any alarm" lists the
   * alarms and clears each one.
   */
  @Override
  public CompletableFuture<AlarmResponse> alarmDisarm(long memberId, AlarmType type) {
    Objects.requireNonNull(type, "type");
    if (memberId != 0 || type != AlarmType.NONE) {
      return disarm(memberId, type);
    }
    return alarmList().thenCompose(list -> {
      List<CompletableFuture<AlarmResponse>> each = new ArrayList<>();
      for (Alarm a : list.alarms()) {
        each.add(disarm(a.memberId(), a.type()));
      }
      return CompletableFuture.allOf(each.toArray(new CompletableFuture<?>[0])).thenApply(v -> {
        List<Alarm> cleared = new ArrayList<>();
        for (CompletableFuture<AlarmResponse> f : each) {
          cleared.addAll(f.join().alarms());
        }
        return new AlarmResponse(each.isEmpty() ? list.header() : each.get(each.size() - 1).join().header(),
            cleared);
      });
    });
  }

  private CompletableFuture<AlarmResponse> disarm(long memberId, AlarmType type) {
    return caller.call(MaintenanceGrpc.getAlarmMethod(),
            AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.DEACTIVATE).setMemberID(memberId)
                .setAlarmValue(type.ordinal()).build(),
            Caller.Retry.NON_REPEATABLE, timeout)
        .thenApply(MaintenanceImpl::alarms);
  }

  private static AlarmResponse alarms(io.etcdrecipes.proto.etcdserverpb.AlarmResponse r) {
    List<Alarm> out = new ArrayList<>(r.getAlarmsCount());
    for (AlarmMember m : r.getAlarmsList()) {
      int v = m.getAlarmValue();
      AlarmType t = v >= 0 && v < AlarmType.values().length ? AlarmType.values()[v] : AlarmType.NONE;
      out.add(new Alarm(m.getMemberID(), t));
    }
    return new AlarmResponse(KvProtos.header(r.getHeader()), out);
  }

  /**
   * Asks every endpoint for its status at once and sends MoveLeader to the first that says it is the
   * leader, within one deadline for the whole operation; a member that does not answer does not hold it up.
   */
  @Override
  public CompletableFuture<MoveLeaderResponse> moveLeader(long transfereeId) {
    Deadline deadline = Deadline.after(timeout.toNanos(), TimeUnit.NANOSECONDS);
    List<Connection.EndpointChannel> endpoints = caller.connection().channels();
    CompletableFuture<MoveLeaderResponse> result = new CompletableFuture<>();
    AtomicBoolean sent = new AtomicBoolean();
    AtomicInteger pending = new AtomicInteger(endpoints.size());
    AtomicReference<Throwable> firstError = new AtomicReference<>();
    for (Connection.EndpointChannel ep : endpoints) {
      status(ep, timeout).whenComplete((s, e) -> {
        if (e == null && s.isLeader() && sent.compareAndSet(false, true)) {
          Duration left = Duration.ofNanos(Math.max(1, deadline.timeRemaining(TimeUnit.NANOSECONDS)));
          caller.call(MaintenanceGrpc.getMoveLeaderMethod(),
                  MoveLeaderRequest.newBuilder().setTargetID(transfereeId).build(),
                  Caller.Retry.NON_REPEATABLE, left, ep)
              .whenComplete((r, e2) -> {
                if (e2 != null) {
                  result.completeExceptionally(Errors.toEtcdException(e2));
                } else {
                  result.complete(new MoveLeaderResponse(KvProtos.header(r.getHeader())));
                }
              });
          return;
        }
        if (e != null) {
          firstError.compareAndSet(null, Errors.toEtcdException(e));
        }
        if (pending.decrementAndGet() == 0 && !sent.get()) {
          Throwable err = firstError.get();
          result.completeExceptionally(new EtcdException(ErrorCode.FAILED_PRECONDITION,
              "moveLeader: no endpoint of this client is the leader " + endpoints
                  + (err == null ? "" : " (one failed: " + err.getMessage() + ")"),
              null, err));
        }
      });
    }
    if (endpoints.isEmpty()) {
      result.completeExceptionally(new EtcdException(ErrorCode.FAILED_PRECONDITION, "moveLeader: no endpoints"));
    }
    return result;
  }

  // ------------------------------------------------------------------ snapshot

  @Override
  public CompletableFuture<Long> snapshot(OutputStream out) {
    Objects.requireNonNull(out, "out");
    Connection connection = caller.connection();
    if (connection.isClosed()) {
      return CompletableFuture.failedFuture(Errors.closed());
    }
    CompletableFuture<Long> result = new CompletableFuture<>();
    Deadline deadline = Deadline.after(timeout.toNanos(), TimeUnit.NANOSECONDS);
    AuthTokens tokens = caller.tokens();
    CompletableFuture<String> token = tokens == null ? CompletableFuture.completedFuture(null)
        : tokens.current() != null ? CompletableFuture.completedFuture(tokens.current()) : tokens.refresh(null);
    token.whenComplete((t, e) -> {
      if (e != null) {
        result.completeExceptionally(Errors.toEtcdException(e));
      } else {
        new SnapshotCall(out, deadline, result, t, true).start();
      }
    });
    return result;
  }

  /**
   * One snapshot stream. gRPC runs its listener on the client's callback executor, one callback at a time,
   * so chunks are written there in order; one more chunk is requested only after a chunk was written.
   */
  private final class SnapshotCall extends ClientCall.Listener<SnapshotResponse> {
    private final OutputStream out;
    private final Deadline deadline;
    private final CompletableFuture<Long> result;
    private final String token;
    private final boolean mayRetryToken;
    private ClientCall<SnapshotRequest, SnapshotResponse> call;
    private long written;
    private IOException writeFailure;

    SnapshotCall(OutputStream out, Deadline deadline, CompletableFuture<Long> result, String token,
                 boolean mayRetryToken) {
      this.out = out;
      this.deadline = deadline;
      this.result = result;
      this.token = token;
      this.mayRetryToken = mayRetryToken;
    }

    void start() {
      Connection connection = caller.connection();
      if (connection.isClosed()) {
        result.completeExceptionally(Errors.closed());
        return;
      }
      Connection.EndpointChannel ep = connection.pick();
      call = ep.channel().newCall(MaintenanceGrpc.getSnapshotMethod(), CallOptions.DEFAULT.withDeadline(deadline));
      ClientCall<SnapshotRequest, SnapshotResponse> c = call;
      result.whenComplete((r, e) -> {
        if (result.isCancelled()) {
          c.cancel("snapshot cancelled by the caller", null);
        }
      });
      try {
        c.start(this, caller.headers(MaintenanceGrpc.getSnapshotMethod(), token));
        c.request(1);
        c.sendMessage(SnapshotRequest.getDefaultInstance());
        c.halfClose();
      } catch (RuntimeException | Error e) {
        c.cancel("failed to send", e);
        result.completeExceptionally(Errors.toEtcdException(e));
      }
    }

    @Override
    public void onMessage(SnapshotResponse message) {
      if (writeFailure != null) {
        return;
      }
      try {
        message.getBlob().writeTo(out);
        written += message.getBlob().size();
        call.request(1);
      } catch (IOException e) {
        writeFailure = e;
        call.cancel("writing the snapshot failed", e);
      }
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      if (writeFailure != null) {
        result.completeExceptionally(writeFailure);
        return;
      }
      if (status.isOk()) {
        result.complete(written);
        return;
      }
      if (caller.connection().isClosed()) {
        result.completeExceptionally(Errors.closed());
        return;
      }
      ServerError se = ServerError.forMessage(status.getDescription());
      boolean invalidToken = se == ServerError.INVALID_AUTH_TOKEN || se == ServerError.AUTH_OLD_REVISION;
      AuthTokens tokens = caller.tokens();
      if (invalidToken && written == 0 && mayRetryToken && tokens != null && !deadline.isExpired()) {
        // Nothing was written yet: fetch a fresh token (single-flight with every other call) and start over.
        tokens.refresh(token).whenComplete((t, e) -> {
          if (e != null) {
            result.completeExceptionally(Errors.toEtcdException(e));
          } else {
            new SnapshotCall(out, deadline, result, t, false).start();
          }
        });
        return;
      }
      result.completeExceptionally(Errors.fromStatus(status, new StatusRuntimeException(status)));
    }
  }

  @Override
  public Maintenance withTimeout(Duration timeout) {
    return new MaintenanceImpl(caller, KvImpl.positive(timeout));
  }
}
