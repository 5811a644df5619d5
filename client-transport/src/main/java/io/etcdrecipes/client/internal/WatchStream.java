package io.etcdrecipes.client.internal;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.CompactedException;
import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.ServerError;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.WatchResponse;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.proto.etcdserverpb.WatchCancelRequest;
import io.etcdrecipes.proto.etcdserverpb.WatchCreateRequest;
import io.etcdrecipes.proto.etcdserverpb.WatchGrpc;
import io.etcdrecipes.proto.etcdserverpb.WatchProgressRequest;
import io.etcdrecipes.proto.etcdserverpb.WatchRequest;
import io.etcdrecipes.proto.mvccpb.Event;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Many watches on one bidirectional Watch stream.
 *
 * <p>Watch IDs are chosen here (etcd 3.4+ honours {@code watch_id}), so responses are matched without
 * relying on the order of create replies. Each watch remembers the revision to resume from: the last
 * delivered event's mod revision + 1, or, for a "from now" watch, its created response's revision + 1.
 * When the stream fails for any reason, it is reopened on another member with jittered backoff, for as
 * long as the client is open, and every live watch is re-created from its resume revision: no gap, no
 * duplicate (events below the resume revision are dropped, should a server resend them). State is
 * guarded by {@code this}; listeners are called after the lock is released, in order per watch, on the
 * callback executor (never on the transport thread that read the response).
 */
final class WatchStream {

  private static final Logger log = LoggerFactory.getLogger(WatchStream.class);
  private static final long PROBE_AFTER_NANOS = TimeUnit.SECONDS.toNanos(2);
  /** How long a progress probe may go unanswered (etcd answers at once, or after a short merge in 3.5.8+). */
  private static final long PROBE_ANSWER_NANOS = TimeUnit.SECONDS.toNanos(3);

  private final Caller caller;
  private final Connection connection;
  private final KvProtos protos;
  private final boolean requireLeader;
  private final Set<WatcherImpl> all = new LinkedHashSet<>();
  private final Map<Long, WatcherImpl> active = new HashMap<>();
  private ClientCall<WatchRequest, io.etcdrecipes.proto.etcdserverpb.WatchResponse> call;
  private Connection.EndpointChannel endpoint;
  private long nextWatchId = 1;
  private int failures;
  private boolean reconnectScheduled;
  private boolean closed;
  /** Liveness: when the stream last answered, and when an unanswered probe was sent (0: none). */
  private long lastHeardNanos;
  private long probeSentNanos;
  private boolean probeSent;
  /** Who asked for each outstanding progress request, oldest first: true = the user, false = a probe. */
  private final java.util.ArrayDeque<Boolean> progressRequests = new java.util.ArrayDeque<>();
  private java.util.concurrent.ScheduledFuture<?> healthCheck;

  WatchStream(Caller caller, KvProtos protos, boolean requireLeader) {
    this.caller = caller;
    this.connection = caller.connection();
    this.protos = protos;
    this.requireLeader = requireLeader;
  }

  synchronized int size() {
    return all.size();
  }

  synchronized int isOpen() {
    return call == null ? 0 : 1;
  }

  Watcher add(ByteSequence key, WatchOption option, WatchListener listener) {
    WatcherImpl w = new WatcherImpl(key, option, listener);
    Runnable pump = null;
    synchronized (this) {
      if (closed || connection.isClosed()) {
        pump = w.failLocked(Errors.closed());
      } else {
        all.add(w);
        if (call != null) {
          createLocked(w);
        } else if (!reconnectScheduled) {
          openLocked();
        }
      }
    }
    if (pump != null) {
      pump.run();
    }
    return w;
  }

  synchronized CompletableFuture<Void> requestProgress() {
    if (call != null) {
      sendProgressRequestLocked(true);
    }
    return CompletableFuture.completedFuture(null);
  }

  private void sendProgressRequestLocked(boolean byUser) {
    call.sendMessage(WatchRequest.newBuilder()
        .setProgressRequest(WatchProgressRequest.getDefaultInstance()).build());
    progressRequests.add(byUser);
  }

  /**
   * A frozen member keeps its TCP connection open and answers nothing, and gRPC keepalive takes tens of
   * seconds to notice. So a stream that has been quiet for {@link #PROBE_AFTER_NANOS} is asked for a
   * progress report; no answer within {@link #PROBE_ANSWER_NANOS} means the member is stuck, and the stream
   * moves to another one, resuming every watch from its revision. It also moves at once when the client's
   * health probe avoids its member (no Status answer, or no leader) and another member is usable.
   */
  private void checkHealth() {
    try {
      checkHealthOnce();
    } catch (Throwable t) { // a scheduled task that throws is never run again
      log.error("watch health check failed; continuing", t);
    }
  }

  private void checkHealthOnce() {
    synchronized (this) {
      if (closed || call == null || all.isEmpty()) {
        return;
      }
      long now = System.nanoTime();
      if (endpoint.isAvoided(now) && connection.hasUsableOtherThan(endpoint)) {
        log.info("watch stream on {}: the member is avoided (no status answer, or no leader); moving", endpoint);
        abandonLocked("watch stream's member avoided");
      } else if (probeSent) {
        if (now - probeSentNanos > PROBE_ANSWER_NANOS) {
          log.info("watch stream on {} did not answer a progress probe in {} ms; moving to another member", endpoint,
              TimeUnit.NANOSECONDS.toMillis(PROBE_ANSWER_NANOS));
          connection.suspect(endpoint);
          abandonLocked("watch stream stalled");
        }
      } else if (now - lastHeardNanos > PROBE_AFTER_NANOS) {
        probeSent = true;
        probeSentNanos = now;
        sendProgressRequestLocked(false);
      }
    }
  }

  private void abandonLocked(String why) {
    ClientCall<WatchRequest, ?> stuck = call;
    probeSent = false;
    stuck.cancel(why, null);
  }

  private void openLocked() {
    if (healthCheck == null) {
      healthCheck = connection.scheduler().scheduleWithFixedDelay(this::checkHealth, 1, 1, TimeUnit.SECONDS);
    }
    lastHeardNanos = System.nanoTime();
    probeSent = false;
    progressRequests.clear();
    endpoint = connection.pick();
    ClientCall<WatchRequest, io.etcdrecipes.proto.etcdserverpb.WatchResponse> c =
        endpoint.channel().newCall(WatchGrpc.getWatchMethod(),
            CallOptions.DEFAULT.withExecutor(Connection.READ_ON_TRANSPORT_THREAD));
    call = c;
    active.clear();
    Metadata headers = caller.headers(WatchGrpc.getWatchMethod(),
        caller.tokens() == null ? null : caller.tokens().current());
    if (requireLeader) {
      headers.put(Headers.HAS_LEADER, "true");
    }
    c.start(new Listener(c), headers);
    if (call != c) {
      return; // gRPC failed the call inside start() (a channel in fail-fast state): onClose already scheduled a retry
    }
    c.request(Integer.MAX_VALUE);
    for (WatcherImpl w : all) {
      createLocked(w);
    }
  }

  private void createLocked(WatcherImpl w) {
    long id = nextWatchId++;
    w.watchId = id;
    w.fragments = null;
    active.put(id, w);
    WatchOption o = w.option;
    WatchCreateRequest.Builder b = WatchCreateRequest.newBuilder()
        .setKey(protos.keys().key(o.rangeStart(w.key)))
        .setStartRevision(w.nextRevision)
        .setWatchId(id)
        .setPrevKv(o.isPrevKv())
        .setProgressNotify(o.isProgressNotify())
        .setFragment(o.isFragment());
    ByteSequence end = o.rangeEnd(w.key);
    if (end != null) {
      b.setRangeEnd(protos.keys().rangeEnd(end));
    }
    if (o.isNoPut()) {
      b.addFilters(WatchCreateRequest.FilterType.NOPUT);
    }
    if (o.isNoDelete()) {
      b.addFilters(WatchCreateRequest.FilterType.NODELETE);
    }
    call.sendMessage(WatchRequest.newBuilder().setCreateRequest(b).build());
  }

  private void onResponse(ClientCall<?, ?> from, io.etcdrecipes.proto.etcdserverpb.WatchResponse r) {
    List<Runnable> notify = new ArrayList<>(1);
    synchronized (this) {
      if (from != call) {
        return;
      }
      failures = 0;
      endpoint.healthy();
      lastHeardNanos = System.nanoTime();
      probeSent = false;
      long id = r.getWatchId();
      if (id == -1 && !r.getCreated() && !r.getCanceled()) {
        Boolean byUser = progressRequests.poll();
        if (byUser != null && !byUser) {
          return; // the answer to our own liveness probe: nothing for the watches
        }
        // A progress response to requestProgress(): everything up to the header revision was sent.
        // etcd before 3.4.24 / 3.5.8 answers it at once with the store revision, ahead of events an unsynced
        // watcher has yet to send (etcd#15220): it is passed on, but never moves a watch's resume revision.
        for (WatcherImpl w : active.values()) {
          progressLocked(w, r, false, notify);
        }
      } else {
        WatcherImpl w = active.get(id);
        if (w != null) {
          if (r.getCreated()) {
            createdLocked(w, r, notify);
          } else if (r.getCanceled() || r.getCompactRevision() != 0) {
            canceledLocked(w, r, notify);
          } else {
            eventsLocked(w, r, notify);
          }
        }
      }
    }
    notify.forEach(Runnable::run);
  }

  private void createdLocked(WatcherImpl w, io.etcdrecipes.proto.etcdserverpb.WatchResponse r, List<Runnable> notify) {
    if (r.getCanceled() || r.getCompactRevision() != 0) {
      canceledLocked(w, r, notify);
      return;
    }
    if (w.nextRevision == 0) {
      w.nextRevision = r.getHeader().getRevision() + 1;
    }
    if (!w.created.isDone()) {
      notify.add(w.enqueueLocked(() -> w.created.complete(null)));
      if (w.option.isCreatedNotify()) {
        notify.add(w.deliverLocked(new WatchResponse(KvProtos.header(r.getHeader()), Collections.emptyList(), true)));
      }
    }
  }

  private void canceledLocked(WatcherImpl w, io.etcdrecipes.proto.etcdserverpb.WatchResponse r, List<Runnable> notify) {
    active.remove(w.watchId);
    if (w.closing) {
      return;
    }
    all.remove(w);
    EtcdException error;
    if (r.getCompactRevision() != 0) {
      error = new CompactedException("etcdserver: mvcc: required revision has been compacted (watch from revision "
          + w.nextRevision + ", compacted up to " + r.getCompactRevision() + ")", r.getCompactRevision(), null);
    } else {
      String reason = r.getCancelReason().isEmpty() ? "etcdserver: watch canceled" : r.getCancelReason();
      ServerError se = ServerError.forMessage(reason);
      error = Errors.fromStatus(se != null
          ? Status.fromCodeValue(se.code().ordinal()).withDescription(reason)
          : Status.CANCELLED.withDescription(reason), null);
    }
    notify.add(w.failLocked(error));
  }

  /**
   * A progress notification. One addressed to this watch (progress_notify) comes through the watch's own
   * event channel on the server, after every event up to its revision, so the watch may resume after it;
   * a stream-wide one (requestProgress) is not ordered with the events and moves nothing.
   */
  private void progressLocked(WatcherImpl w, io.etcdrecipes.proto.etcdserverpb.WatchResponse r, boolean ownWatch,
                              List<Runnable> notify) {
    long rev = r.getHeader().getRevision();
    if (rev < w.deliveredRevision || rev + 1 < w.nextRevision) {
      // A member behind what this watch already delivered (the stream failed over to a lagging one): its
      // progress would take the watch back in time. Events still come in order once it has caught up.
      return;
    }
    if (ownWatch && w.fragments == null && rev + 1 > w.nextRevision && w.nextRevision != 0) {
      w.nextRevision = rev + 1;
    }
    WatchResponse resp = new WatchResponse(KvProtos.header(r.getHeader()), Collections.emptyList());
    notify.add(w.deliverLocked(resp));
  }

  private void eventsLocked(WatcherImpl w, io.etcdrecipes.proto.etcdserverpb.WatchResponse r, List<Runnable> notify) {
    if (r.getEventsCount() == 0 && !r.getFragment() && w.fragments == null) {
      progressLocked(w, r, true, notify);
      return;
    }
    List<Event> raw;
    if (r.getFragment() || w.fragments != null) {
      if (w.fragments == null) {
        w.fragments = new ArrayList<>();
      }
      w.fragments.addAll(r.getEventsList());
      if (r.getFragment()) {
        return;
      }
      raw = w.fragments;
      w.fragments = null;
    } else {
      raw = r.getEventsList();
    }
    List<WatchEvent> events = new ArrayList<>(raw.size());
    for (Event e : raw) {
      if (e.getKv().getModRevision() < w.nextRevision) {
        continue; // already delivered before a reconnect
      }
      KeyValue kv = protos.keyValue(e.getKv());
      KeyValue prev = e.hasPrevKv() ? protos.keyValue(e.getPrevKv()) : null;
      events.add(new WatchEvent(e.getType() == Event.EventType.DELETE ? WatchEvent.Type.DELETE : WatchEvent.Type.PUT,
          kv, prev));
    }
    if (events.isEmpty()) {
      return;
    }
    w.nextRevision = events.get(events.size() - 1).kv().modRevision() + 1;
    WatchResponse resp = new WatchResponse(KvProtos.header(r.getHeader()), Collections.unmodifiableList(events));
    notify.add(w.deliverLocked(resp));
  }

  private void onClose(ClientCall<?, ?> from, Status status) {
    status = Errors.transportStatus(status);
    synchronized (this) {
      if (from != call) {
        return;
      }
      call = null;
      active.clear();
      if (closed || connection.isClosed()) {
        return;
      }
      if (all.isEmpty()) {
        return;
      }
      failures++;
      long backoffMillis = Math.min(3_000, 50L << Math.min(failures, 7));
      backoffMillis = backoffMillis / 2 + ThreadLocalRandom.current().nextLong(backoffMillis / 2 + 1);
      if (status.getCode() == Status.Code.UNAVAILABLE || status.getCode() == Status.Code.DEADLINE_EXCEEDED
          || status.getCode() == Status.Code.INTERNAL) {
        connection.suspect(endpoint);
      }
      log.info("watch stream on {} ended ({} {}{}); {} watches resume in {} ms", endpoint, status.getCode(),
          status.getDescription(), status.getCause() == null ? "" : ": " + status.getCause(), all.size(),
          backoffMillis);
      reconnectScheduled = true;
      String staleToken = caller.tokens() == null ? null : caller.tokens().current();
      boolean invalidToken = ServerError.forMessage(status.getDescription()) == ServerError.INVALID_AUTH_TOKEN
          || ServerError.forMessage(status.getDescription()) == ServerError.AUTH_OLD_REVISION;
      Runnable reconnect = () -> {
        if (invalidToken && caller.tokens() != null) {
          caller.tokens().refresh(staleToken).whenComplete((t, e) -> reopen());
        } else {
          reopen();
        }
      };
      try {
        connection.scheduler().schedule(reconnect, backoffMillis, TimeUnit.MILLISECONDS);
      } catch (RuntimeException e) {
        reconnectScheduled = false; // scheduler shut down: the client is closing
      }
    }
  }

  private synchronized void reopen() {
    reconnectScheduled = false;
    if (closed || connection.isClosed() || call != null || all.isEmpty()) {
      return;
    }
    try {
      openLocked();
    } catch (RuntimeException e) {
      log.warn("could not reopen the watch stream; trying again", e);
      call = null;
      failures++;
      reconnectScheduled = true;
      try {
        connection.scheduler().schedule(this::reopen, Math.min(3_000, 50L << Math.min(failures, 7)),
            TimeUnit.MILLISECONDS);
      } catch (RuntimeException closing) {
        reconnectScheduled = false;
      }
    }
  }

  private void closeWatcher(WatcherImpl w) {
    Runnable pump;
    synchronized (this) {
      if (!all.remove(w)) {
        return;
      }
      w.closing = true;
      if (call != null && active.containsKey(w.watchId)) {
        call.sendMessage(WatchRequest.newBuilder()
            .setCancelRequest(WatchCancelRequest.newBuilder().setWatchId(w.watchId)).build());
      }
      pump = w.completeLocked();
    }
    pump.run();
  }

  void close() {
    List<Runnable> ending = new ArrayList<>();
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      if (healthCheck != null) {
        healthCheck.cancel(false);
      }
      for (WatcherImpl w : all) {
        ending.add(w.failLocked(Errors.closed()));
      }
      all.clear();
      active.clear();
      if (call != null) {
        call.cancel("client closed", null);
        call = null;
      }
    }
    ending.forEach(Runnable::run);
  }

  /** One watch: its options, where it resumes, and its ordered delivery. */
  private final class WatcherImpl implements Watcher {
    final ByteSequence key;
    final WatchOption option;
    final WatchListener listener;
    final SerialExecutor serial = new SerialExecutor(connection.callbackExecutor());
    final CompletableFuture<Void> created = new CompletableFuture<>();
    final CompletableFuture<Void> done = new CompletableFuture<>();
    /** Set on the serial executor when the end was delivered; read only there. */
    boolean ended;
    final java.util.Queue<Runnable> pending = new java.util.concurrent.ConcurrentLinkedQueue<>();
    long watchId;
    long nextRevision;
    /** The highest header revision delivered to the listener: no later progress may go below it. */
    long deliveredRevision;
    List<Event> fragments;
    boolean closing;

    WatcherImpl(ByteSequence key, WatchOption option, WatchListener listener) {
      this.key = key;
      this.option = option;
      this.listener = listener;
      this.nextRevision = option.revision();
    }

    /**
     * Queues a callback in the order decided under the stream lock, and returns what hands it to the user's
     * executor once the lock is released. Each pump runs the oldest queued callback, so the order holds even
     * when two threads' pumps reach the serial executor in the other order (an old stream's last response
     * and a new stream's first, say).
     */
    Runnable enqueueLocked(Runnable callback) {
      pending.add(callback);
      return () -> serial.execute(() -> {
        Runnable next = pending.poll();
        if (next != null) {
          next.run();
        }
      });
    }

    Runnable deliverLocked(WatchResponse r) {
      deliveredRevision = Math.max(deliveredRevision, r.header().revision());
      return enqueueLocked(() -> {
        if (!ended) {
          listener.onNext(r);
        }
      });
    }

    /** The listener hears of the end before {@link #done()} completes, so done() means "no more callbacks". */
    Runnable failLocked(EtcdException e) {
      return enqueueLocked(() -> {
        if (!ended) {
          ended = true;
          try {
            listener.onError(e);
          } finally {
            created.completeExceptionally(e);
            done.completeExceptionally(e);
          }
        }
      });
    }

    Runnable completeLocked() {
      return enqueueLocked(() -> {
        if (!ended) {
          ended = true;
          try {
            listener.onCompleted();
          } finally {
            created.completeExceptionally(new io.etcdrecipes.client.CancelledException(ErrorCode.CANCELLED,
                "watch closed before it was created", null, null));
            done.complete(null);
          }
        }
      });
    }

    @Override
    public CompletableFuture<Void> created() {
      return created;
    }

    @Override
    public CompletableFuture<Void> done() {
      return done;
    }

    @Override
    public long nextRevision() {
      synchronized (WatchStream.this) {
        return nextRevision;
      }
    }

    @Override
    public void close() {
      closeWatcher(this);
    }
  }

  private final class Listener extends ClientCall.Listener<io.etcdrecipes.proto.etcdserverpb.WatchResponse> {
    private final ClientCall<?, ?> owner;

    Listener(ClientCall<?, ?> owner) {
      this.owner = owner;
    }

    @Override
    public void onMessage(io.etcdrecipes.proto.etcdserverpb.WatchResponse message) {
      onResponse(owner, message);
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      WatchStream.this.onClose(owner, status);
    }
  }
}
