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
import java.util.ArrayDeque;
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
 * renewal; a renewal the server answers with TTL &lt;= 0 means the lease is gone.
 *
 * <p>etcd answers the requests of one stream one by one, in the order they were sent (it renews, then
 * answers, then reads the next request), and ends the stream rather than skip one. So every request sent
 * on the current stream is queued ({@link #inFlight}), and each answer is matched to the oldest unanswered
 * request <em>for its lease</em> (the same on etcd itself; a proxy that answers leases out of order does not
 * make other leases' requests unanswerable): the lease is credited from that request's <em>send</em> time
 * (the server renewed it no earlier), and a {@code keepAliveOnce} is completed with the answer to its own
 * request, never with an answer to an earlier one. Loss is always reported,
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
  /** keepAliveOnce calls not answered yet (sent on the current stream or waiting for one). */
  private final List<Once> onces = new ArrayList<>();
  /** The requests sent on the current stream and not answered yet, oldest first. */
  private final ArrayDeque<Sent> inFlight = new ArrayDeque<>();
  private ClientCall<LeaseKeepAliveRequest, io.etcdrecipes.proto.etcdserverpb.LeaseKeepAliveResponse> call;
  private Connection.EndpointChannel endpoint;
  private ScheduledFuture<?> ticker;
  private int failures;
  private long reconnectAtNanos = System.nanoTime(); // "now": nanoTime may be negative, 0 is no sentinel
  private long lastTickNanos = System.nanoTime();
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
    return keepAlive(leaseId, 0, 0, listener);
  }

  /**
   * Keeps {@code leaseId} alive. With {@code ttlSeconds > 0}, the lease is known to live until
   * {@code renewedAtNanos + ttl} (granted or renewed no earlier than that): its local loss deadline and its renewal
   * schedule start there. Without, until its first answer the lease is given the client's call timeout.
   */
  KeepAlive keepAlive(long leaseId, long renewedAtNanos, long ttlSeconds, KeepAliveListener listener) {
    Subscriber s = new Subscriber(leaseId, listener);
    synchronized (this) {
      if (closed) {
        s.done.completeExceptionally(Errors.closed());
        return s;
      }
      Kept k = leases.get(leaseId);
      if (k == null) {
        k = ttlSeconds > 0
            ? new Kept(leaseId, renewedAtNanos, TimeUnit.SECONDS.toNanos(ttlSeconds))
            : new Kept(leaseId, System.nanoTime(), connection.config().callTimeout().toNanos());
        leases.put(leaseId, k);
      }
      k.subscribers.add(s);
      s.kept = k;
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
        k.nextSendNanos = now; // the next tick sends it
      }
    }
    return s;
  }

  CompletableFuture<LeaseKeepAliveResponse> once(long leaseId, Duration timeout) {
    Once o = new Once(leaseId);
    synchronized (this) {
      if (closed) {
        return CompletableFuture.failedFuture(Errors.closed());
      }
      onces.add(o);
      startLocked();
      if (call != null) {
        send(leaseId, System.nanoTime(), o);
      }
    }
    o.future.orTimeout(timeout.toNanos(), TimeUnit.NANOSECONDS).whenComplete((r, t) -> {
      synchronized (this) {
        onces.remove(o);
      }
    });
    return o.future.exceptionallyCompose(t -> CompletableFuture.failedFuture(
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
    try {
      tickOnce();
    } catch (Throwable t) { // a scheduled task that throws is never run again: that would end every renewal
      log.error("keep-alive tick failed; continuing", t);
    }
  }

  private void tickOnce() {
    List<Runnable> notify = new ArrayList<>();
    synchronized (this) {
      if (closed) {
        return;
      }
      if (leases.isEmpty() && onces.isEmpty()) {
        // nothing to renew or wait for: stop ticking until the next keepAlive or once starts it again
        if (ticker != null) {
          ticker.cancel(false);
          ticker = null;
        }
        return;
      }
      long now = System.nanoTime();
      // A tick that runs late (this process was paused, or starved) must not take buffered answers for a stall:
      // the transport thread may not have read them yet.
      boolean late = now - lastTickNanos > TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS * 5);
      lastTickNanos = now;
      if (call == null && now - reconnectAtNanos >= 0) {
        openLocked(now);
      }
      Sent oldest = inFlight.peekFirst();
      if (!late && call != null && oldest != null && now - oldest.nanos > stallNanos()) {
        log.info("keep-alive stream on {} answered nothing for {} ms; moving to another member", endpoint,
            TimeUnit.NANOSECONDS.toMillis(now - oldest.nanos));
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

  /** Sends a renewal of {@code k} now and schedules another one in case this one goes unanswered. */
  private void renewLocked(Kept k, long now) {
    send(k.id, now, null);
    k.nextSendNanos = now + Math.max(TimeUnit.MILLISECONDS.toNanos(500), k.ttlNanos / 3);
  }

  /** Sends a keep-alive request on the current stream and queues it for its answer. */
  private void send(long id, long now, Once once) {
    try {
      call.sendMessage(LeaseKeepAliveRequest.newBuilder().setID(id).build());
      inFlight.addLast(new Sent(id, now, once));
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
    inFlight.clear(); // requests on the old stream will never be answered
    staleToken = caller.tokens() == null ? null : caller.tokens().current();
    Metadata headers = caller.headers(LeaseGrpc.getLeaseKeepAliveMethod(), staleToken);
    c.start(new Listener(c), headers);
    if (call != c) {
      return; // gRPC failed the call inside start(): onClose already set the reconnect time
    }
    c.request(Integer.MAX_VALUE);
    for (Kept k : leases.values()) {
      k.nextSendNanos = now;
    }
    for (Once o : onces) { // each waits for the answer to a request of its own
      send(o.leaseId, now, o);
    }
  }

  private void abandonLocked(Status why, long now) {
    if (call != null) {
      call.cancel(why.getDescription(), null);
      call = null;
    }
    inFlight.clear();
    reconnectAtNanos = now;
  }

  private void onResponse(ClientCall<?, ?> from, io.etcdrecipes.proto.etcdserverpb.LeaseKeepAliveResponse r) {
    List<Runnable> notify = new ArrayList<>();
    synchronized (this) {
      if (from != call) {
        return;
      }
      failures = 0;
      endpoint.healthy();
      long id = r.getID();
      Sent sent = answeredLocked(id);
      if (sent == null) {
        // Not an answer to any request we sent on this stream: nothing tells when the server renewed the
        // lease, so it is credited with nothing (a lost lease is still a lost lease).
        log.warn("keep-alive answer for lease {} matches no request sent on this stream", Long.toHexString(id));
      }
      Kept k = leases.get(id);
      if (r.getTTL() <= 0) {
        if (k != null) {
          leases.remove(id);
          k.lost(notFound(id), notify);
        }
      } else if (sent != null && k != null) {
        // The leader renewed the lease at some moment between our send and this answer: counting the TTL
        // from the send means we call it lost no later than the server lets it expire. Answers come in
        // send order, so this only moves the deadline forward (unless the server shortened the TTL).
        k.ttlNanos = TimeUnit.SECONDS.toNanos(r.getTTL());
        if (sent.nanos - k.renewedAtNanos > 0) {
          k.renewedAtNanos = sent.nanos;
        }
        k.deadlineNanos = k.renewedAtNanos + k.ttlNanos;
        k.nextSendNanos = k.renewedAtNanos + k.ttlNanos / 3;
        k.renewed(new LeaseKeepAliveResponse(KvProtos.header(r.getHeader()), id, r.getTTL(), sent.nanos), notify);
      }
      if (sent != null && sent.once != null) {
        Once o = sent.once;
        onces.remove(o);
        // completed on the callback executor: this runs on the transport thread (see
        // Connection.READ_ON_TRANSPORT_THREAD), and the caller's continuations must not
        if (r.getTTL() <= 0) {
          notify.add(() -> onCallbackThread(() -> o.future.completeExceptionally(notFound(id))));
        } else {
          LeaseKeepAliveResponse resp =
              new LeaseKeepAliveResponse(KvProtos.header(r.getHeader()), id, r.getTTL(), sent.nanos);
          notify.add(() -> onCallbackThread(() -> o.future.complete(resp)));
        }
      }
    }
    notify.forEach(Runnable::run);
  }

  /** The request an answer for {@code leaseId} belongs to: the oldest unanswered one for that lease, or null. */
  private Sent answeredLocked(long leaseId) {
    for (java.util.Iterator<Sent> it = inFlight.iterator(); it.hasNext(); ) {
      Sent s = it.next();
      if (s.leaseId == leaseId) {
        it.remove();
        return s;
      }
    }
    return null;
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
    status = Errors.transportStatus(status);
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
      for (Once o : onces) {
        notify.add(() -> o.future.completeExceptionally(Errors.closed()));
      }
      onces.clear();
      inFlight.clear();
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
    long ttlNanos;
    long deadlineNanos;
    long nextSendNanos;
    /** The send time of the newest answered renewal (or the caller's hint): read without the stream's lock. */
    volatile long renewedAtNanos;

    Kept(long id, long renewedAtNanos, long ttlNanos) {
      this.id = id;
      this.renewedAtNanos = renewedAtNanos;
      this.ttlNanos = ttlNanos;
      this.deadlineNanos = renewedAtNanos + ttlNanos;
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

  /** A request on the current stream: which lease, when it was sent, and the keepAliveOnce it serves, if any. */
  private record Sent(long leaseId, long nanos, Once once) {}

  /** One keepAliveOnce call. */
  private static final class Once {
    final long leaseId;
    final CompletableFuture<LeaseKeepAliveResponse> future = new CompletableFuture<>();

    Once(long leaseId) {
      this.leaseId = leaseId;
    }
  }

  private final class Subscriber implements KeepAlive {
    final long leaseId;
    final KeepAliveListener listener;
    final SerialExecutor serial = new SerialExecutor(connection.callbackExecutor());
    final CompletableFuture<Void> done = new CompletableFuture<>();
    volatile Kept kept;

    Subscriber(long leaseId, KeepAliveListener listener) {
      this.leaseId = leaseId;
      this.listener = listener;
    }

    @Override
    public long leaseId() {
      return leaseId;
    }

    @Override
    public long renewedAtNanos() {
      Kept k = kept;
      return k == null ? Long.MIN_VALUE : k.renewedAtNanos;
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
