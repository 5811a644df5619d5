package io.etcdrecipes.client.internal;

import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.KeepAlive;
import io.etcdrecipes.client.KeepAliveListener;
import io.etcdrecipes.client.LeaseKeepAliveResponse;
import io.etcdrecipes.client.LeaseNotFoundException;
import io.etcdrecipes.client.ServerError;
import io.etcdrecipes.proto.etcdserverpb.LeaseGrpc;
import io.etcdrecipes.proto.etcdserverpb.LeaseKeepAliveRequest;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Every kept-alive lease of a client on ONE bidirectional LeaseKeepAlive stream.
 *
 * <p>A 100 ms tick (running only while leases are kept alive or a keepAliveOnce waits) renews each lease
 * at a third of its TTL and declares it lost when its TTL has run out here since the last successful
 * renewal; a renewal the server answers with TTL &lt;= 0 means the lease is gone. Loss is always reported,
 * never a silent end. A stream that fails is reopened on another member
 * with jittered backoff; a stream that stops answering (a paused member keeps its connection) is
 * abandoned after a third of the shortest TTL. State is guarded by {@code this}; listeners are called
 * after the lock is released, on the callback executor, in order per subscription.
 */
final class KeepAliveStream implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(KeepAliveStream.class);
  private static final long TICK_MILLIS = 100;

  private final Caller caller;
  private final Connection connection;
  private final Map<Long, Kept> leases = new HashMap<>();
  private final Map<Long, List<CompletableFuture<LeaseKeepAliveResponse>>> onceWaiters = new HashMap<>();
  private ClientCall<LeaseKeepAliveRequest, io.etcdrecipes.proto.etcdserverpb.LeaseKeepAliveResponse> call;
  private Connection.EndpointChannel endpoint;
  private ScheduledFuture<?> ticker;
  private long oldestUnansweredNanos;
  private int failures;
  private long reconnectAtNanos;
  /** The auth token the current stream was opened with (refreshed when the server rejects it). */
  private volatile String staleToken;
  private boolean closed;

  KeepAliveStream(Caller caller) {
    this.caller = caller;
    this.connection = caller.connection();
  }

  synchronized int size() {
    return leases.size();
  }

  synchronized boolean ticking() {
    return ticker != null;
  }

  KeepAlive keepAlive(long leaseId, KeepAliveListener listener) {
    Subscriber s = new Subscriber(leaseId, listener);
    synchronized (this) {
      if (closed) {
        s.done.completeExceptionally(Errors.closed());
        return s;
      }
      Kept k = leases.get(leaseId);
      if (k == null) {
        k = new Kept(leaseId, System.nanoTime() + connection.config().callTimeout().toNanos());
        leases.put(leaseId, k);
      }
      k.subscribers.add(s);
      startLocked();
      // Renew the new lease at once on the open stream; walking every kept lease here, as a tick does,
      // made registering n leases cost n^2. Without a stream the next tick opens one and sends.
      long now = System.nanoTime();
      if (call == null && now - reconnectAtNanos >= 0) {
        openLocked(now);
      }
      if (call != null) {
        renewLocked(k, now);
      } else {
        k.nextSendNanos = 0;
      }
    }
    return s;
  }

  CompletableFuture<LeaseKeepAliveResponse> once(long leaseId, Duration timeout) {
    CompletableFuture<LeaseKeepAliveResponse> f = new CompletableFuture<>();
    synchronized (this) {
      if (closed) {
        return CompletableFuture.failedFuture(Errors.closed());
      }
      onceWaiters.computeIfAbsent(leaseId, id -> new ArrayList<>()).add(f);
      startLocked();
      if (call != null) {
        send(leaseId, System.nanoTime());
      }
    }
    f.orTimeout(timeout.toNanos(), TimeUnit.NANOSECONDS).whenComplete((r, t) -> {
      synchronized (this) {
        List<CompletableFuture<LeaseKeepAliveResponse>> w = onceWaiters.get(leaseId);
        if (w != null && w.remove(f) && w.isEmpty()) {
          onceWaiters.remove(leaseId);
        }
      }
    });
    return f.exceptionallyCompose(t -> CompletableFuture.failedFuture(
        Errors.unwrap(t) instanceof java.util.concurrent.TimeoutException
            ? new io.etcdrecipes.client.DeadlineExceededException(ErrorCode.DEADLINE_EXCEEDED,
                "keep-alive of lease " + Long.toHexString(leaseId) + " got no answer in " + timeout, null, t)
            : Errors.toEtcdException(t)));
  }

  private void startLocked() {
    if (ticker == null) {
      ticker = connection.scheduler().scheduleWithFixedDelay(this::tick, TICK_MILLIS, TICK_MILLIS,
          TimeUnit.MILLISECONDS);
    }
  }

  private void tick() {
    List<Runnable> notify = new ArrayList<>();
    synchronized (this) {
      if (closed) {
        return;
      }
      if (leases.isEmpty() && onceWaiters.isEmpty()) {
        // nothing to renew or wait for: stop ticking until the next keepAlive or once starts it again
        if (ticker != null) {
          ticker.cancel(false);
          ticker = null;
        }
        return;
      }
      long now = System.nanoTime();
      if (call == null && now - reconnectAtNanos >= 0) {
        openLocked(now);
      }
      if (call != null && oldestUnansweredNanos != 0 && now - oldestUnansweredNanos > stallNanos()) {
        log.info("keep-alive stream on {} answered nothing for {} ms; moving to another member", endpoint,
            TimeUnit.NANOSECONDS.toMillis(now - oldestUnansweredNanos));
        connection.suspect(endpoint);
        abandonLocked(Status.UNAVAILABLE.withDescription("keep-alive stream stalled"), now);
        openLocked(now);
      }
      for (Iterator<Kept> it = leases.values().iterator(); it.hasNext(); ) {
        Kept k = it.next();
        if (now - k.deadlineNanos > 0) {
          it.remove();
          EtcdException lost = new EtcdException(ErrorCode.DEADLINE_EXCEEDED, "lease " + Long.toHexString(k.id)
              + " expired locally: no successful keep-alive within its TTL", null, null);
          k.lost(lost, notify);
        } else if (call != null && now - k.nextSendNanos >= 0) {
          renewLocked(k, now);
        }
      }
    }
    notify.forEach(Runnable::run);
  }

  private long stallNanos() {
    long minTtl = Long.MAX_VALUE;
    for (Kept k : leases.values()) {
      minTtl = Math.min(minTtl, k.ttlNanos);
    }
    long third = minTtl == Long.MAX_VALUE ? TimeUnit.SECONDS.toNanos(3) : minTtl / 3;
    return Math.max(TimeUnit.MILLISECONDS.toNanos(500), Math.min(TimeUnit.SECONDS.toNanos(3), third));
  }

  /** Sends a renewal of {@code k} now and schedules the next one (if this one goes unanswered). */
  private void renewLocked(Kept k, long now) {
    send(k.id, now);
    if (k.sentNanos.size() < 64) {
      k.sentNanos.addLast(now);
    }
    k.nextSendNanos = now + Math.max(TimeUnit.MILLISECONDS.toNanos(500), k.ttlNanos / 3);
  }

  private void send(long id, long now) {
    try {
      call.sendMessage(LeaseKeepAliveRequest.newBuilder().setID(id).build());
      if (oldestUnansweredNanos == 0) {
        oldestUnansweredNanos = now;
      }
    } catch (RuntimeException e) {
      log.debug("keep-alive send failed; the stream will be reopened", e);
    }
  }

  private void openLocked(long now) {
    endpoint = connection.pick();
    ClientCall<LeaseKeepAliveRequest, io.etcdrecipes.proto.etcdserverpb.LeaseKeepAliveResponse> c =
        endpoint.channel().newCall(LeaseGrpc.getLeaseKeepAliveMethod(),
            CallOptions.DEFAULT.withExecutor(Connection.READ_ON_TRANSPORT_THREAD));
    call = c;
    oldestUnansweredNanos = 0;
    staleToken = caller.tokens() == null ? null : caller.tokens().current();
    Metadata headers = caller.headers(LeaseGrpc.getLeaseKeepAliveMethod(), staleToken);
    c.start(new Listener(c), headers);
    c.request(Integer.MAX_VALUE);
    for (Kept k : leases.values()) {
      k.nextSendNanos = now;
      k.sentNanos.clear(); // requests on the old stream will never be answered
    }
    for (Long id : onceWaiters.keySet()) {
      if (!leases.containsKey(id)) {
        send(id, now);
      }
    }
  }

  private void abandonLocked(Status why, long now) {
    if (call != null) {
      call.cancel(why.getDescription(), null);
      call = null;
    }
    oldestUnansweredNanos = 0;
    reconnectAtNanos = now;
  }

  private void onResponse(ClientCall<?, ?> from, io.etcdrecipes.proto.etcdserverpb.LeaseKeepAliveResponse r) {
    List<Runnable> notify = new ArrayList<>();
    synchronized (this) {
      if (from != call) {
        return;
      }
      long now = System.nanoTime();
      oldestUnansweredNanos = 0;
      failures = 0;
      endpoint.healthy();
      LeaseKeepAliveResponse resp = new LeaseKeepAliveResponse(KvProtos.header(r.getHeader()), r.getID(), r.getTTL());
      Kept k = leases.get(r.getID());
      if (k != null) {
        if (r.getTTL() <= 0) {
          leases.remove(r.getID());
          k.lost(notFound(r.getID()), notify);
        } else {
          // The leader renewed the lease at some moment between our send and this answer: counting the TTL
          // from the send means we call it lost no later than the server lets it expire.
          Long sent = k.sentNanos.pollFirst();
          long renewedFrom = sent != null ? sent : now;
          k.ttlNanos = TimeUnit.SECONDS.toNanos(r.getTTL());
          k.deadlineNanos = renewedFrom + k.ttlNanos;
          k.nextSendNanos = now + k.ttlNanos / 3;
          k.renewed(resp, notify);
        }
      }
      List<CompletableFuture<LeaseKeepAliveResponse>> waiters = onceWaiters.remove(r.getID());
      if (waiters != null) {
        for (CompletableFuture<LeaseKeepAliveResponse> w : waiters) {
          // completed on the callback executor: this runs on the transport thread (see
          // Connection.READ_ON_TRANSPORT_THREAD), and the caller's continuations must not
          if (r.getTTL() <= 0) {
            notify.add(() -> onCallbackThread(() -> w.completeExceptionally(notFound(r.getID()))));
          } else {
            notify.add(() -> onCallbackThread(() -> w.complete(resp)));
          }
        }
      }
    }
    notify.forEach(Runnable::run);
  }

  private void onCallbackThread(Runnable r) {
    try {
      connection.callbackExecutor().execute(r);
    } catch (RuntimeException e) { // the executor is shut down (client closing): run it here rather than lose it
      r.run();
    }
  }

  private static LeaseNotFoundException notFound(long id) {
    return new LeaseNotFoundException(ErrorCode.NOT_FOUND, "lease " + Long.toHexString(id)
        + " not found: it expired or was revoked (keep-alive answered TTL <= 0)", ServerError.LEASE_NOT_FOUND, null);
  }

  private void onClose(ClientCall<?, ?> from, Status status) {
    ServerError error = ServerError.forMessage(status.getDescription());
    if ((error == ServerError.INVALID_AUTH_TOKEN || error == ServerError.AUTH_OLD_REVISION) && caller.tokens() != null) {
      caller.tokens().refresh(staleToken);
    }
    synchronized (this) {
      if (from != call || closed) {
        return;
      }
      call = null;
      failures++;
      long backoffMillis = Math.min(2_000, 50L << Math.min(failures, 6));
      backoffMillis = backoffMillis / 2 + ThreadLocalRandom.current().nextLong(backoffMillis / 2 + 1);
      reconnectAtNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoffMillis);
      if (status.getCode() == Status.Code.UNAVAILABLE || status.getCode() == Status.Code.DEADLINE_EXCEEDED) {
        connection.suspect(endpoint);
      }
      log.info("keep-alive stream on {} ended ({} {}{}); reopening in {} ms", endpoint, status.getCode(),
          status.getDescription(), status.getCause() == null ? "" : ": " + status.getCause(), backoffMillis);
    }
  }

  @Override
  public void close() {
    List<Runnable> notify = new ArrayList<>();
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      if (ticker != null) {
        ticker.cancel(false);
      }
      if (call != null) {
        call.cancel("client closed", null);
        call = null;
      }
      for (Kept k : leases.values()) {
        for (Subscriber s : k.subscribers) {
          notify.add(() -> s.done.complete(null));
        }
      }
      leases.clear();
      for (List<CompletableFuture<LeaseKeepAliveResponse>> ws : onceWaiters.values()) {
        for (CompletableFuture<LeaseKeepAliveResponse> w : ws) {
          notify.add(() -> w.completeExceptionally(Errors.closed()));
        }
      }
      onceWaiters.clear();
    }
    notify.forEach(Runnable::run);
  }

  private synchronized void unsubscribe(Subscriber s) {
    Kept k = leases.get(s.leaseId);
    if (k != null && k.subscribers.remove(s) && k.subscribers.isEmpty()) {
      leases.remove(s.leaseId);
    }
  }

  /** One lease being kept alive, with everyone who asked for it. */
  private static final class Kept {
    final long id;
    final List<Subscriber> subscribers = new ArrayList<>(1);
    long ttlNanos = TimeUnit.SECONDS.toNanos(3);
    long deadlineNanos;
    long nextSendNanos;
    /** When each unanswered request on the current stream was sent, oldest first (answers come in order). */
    final java.util.ArrayDeque<Long> sentNanos = new java.util.ArrayDeque<>(2);

    Kept(long id, long deadlineNanos) {
      this.id = id;
      this.deadlineNanos = deadlineNanos;
    }

    void renewed(LeaseKeepAliveResponse r, List<Runnable> notify) {
      for (Subscriber s : subscribers) {
        notify.add(() -> s.serial.execute(() -> {
          if (!s.done.isDone()) {
            s.listener.onRenewed(r);
          }
        }));
      }
    }

    /** The listener hears of the loss before {@link KeepAlive#done()} completes; not at all after close(). */
    void lost(EtcdException cause, List<Runnable> notify) {
      for (Subscriber s : subscribers) {
        notify.add(() -> s.serial.execute(() -> {
          if (s.done.isDone()) {
            return; // closed by its owner first
          }
          try {
            s.listener.onLost(cause);
          } finally {
            s.done.completeExceptionally(cause);
          }
        }));
      }
    }
  }

  private final class Subscriber implements KeepAlive {
    final long leaseId;
    final KeepAliveListener listener;
    final SerialExecutor serial = new SerialExecutor(connection.callbackExecutor());
    final CompletableFuture<Void> done = new CompletableFuture<>();

    Subscriber(long leaseId, KeepAliveListener listener) {
      this.leaseId = leaseId;
      this.listener = listener;
    }

    @Override
    public long leaseId() {
      return leaseId;
    }

    @Override
    public CompletableFuture<Void> done() {
      return done;
    }

    @Override
    public void close() {
      unsubscribe(this);
      done.complete(null);
    }
  }

  private final class Listener extends ClientCall.Listener<io.etcdrecipes.proto.etcdserverpb.LeaseKeepAliveResponse> {
    private final ClientCall<?, ?> owner;

    Listener(ClientCall<?, ?> owner) {
      this.owner = owner;
    }

    @Override
    public void onMessage(io.etcdrecipes.proto.etcdserverpb.LeaseKeepAliveResponse message) {
      onResponse(owner, message);
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      KeepAliveStream.this.onClose(owner, status);
    }
  }
}
