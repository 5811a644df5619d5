package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ClosedClientException;
import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.KeepAlive;
import io.etcdrecipes.client.KeepAliveListener;
import io.etcdrecipes.client.Lease;
import io.etcdrecipes.client.LeaseKeepAliveResponse;
import io.etcdrecipes.client.LeaseNotFoundException;
import io.etcdrecipes.client.ServerError;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.OrderedDispatcher;
import io.etcdrecipes.recipes.internal.SharedExecutors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An etcd lease kept alive for as long as this process wants it, with an observable connection state
 * ({@link SessionState}, as in Curator). Everything a recipe owns is attached to the session's lease, so it
 * disappears when the process dies (after the TTL) or the session is closed (at once).
 *
 * <pre>{@code
 * try (Session session = Session.builder(client).ttl(Duration.ofSeconds(10)).build()) {
 *   session.addListener((s, state) -> log.info("session {}", state));
 *   client.kv().put(key, value, PutOption.lease(session.leaseId())).join();
 *   ...
 * }   // revokes the lease: the key is gone at once
 * }</pre>
 *
 * <h2>How the state is decided</h2>
 * The lease is renewed on the client's shared keep-alive stream at a third of its TTL. In addition, while no
 * renewal has succeeded for {@link Builder#lossCheckInterval(Duration) lossCheckInterval} (default 500 ms),
 * the session sends one extra renewal ({@code keepAliveOnce}); that is how a lease revoked by someone else is
 * noticed within about that interval even when the TTL is long (the keep-alive stream alone would learn of it
 * only at the next regular renewal, up to TTL/3 later). It costs one small message on the existing stream per
 * interval per session, and only for sessions whose TTL/3 is longer than the interval.
 * <ul>
 *   <li>{@code SUSPENDED}: no successful renewal for longer than {@link #suspendAfter()} (default: half the TTL,
 *       but at least {@code min(1 s, 2/3 TTL)}: above the normal gap between renewals, which go out a third of the
 *       TTL after the last one and are answered a round trip later), or an extra renewal failed.</li>
 *   <li>{@code RECONNECTED}: the first successful renewal after {@code SUSPENDED}.</li>
 *   <li>{@code LOST} (final): the server answered that the lease does not exist (revoked or expired); the TTL
 *       ran out here since the last successful renewal; {@link #close()}, {@link #orphan()}; or the client
 *       closed.</li>
 * </ul>
 * <p><b>The liveness rule.</b> The local TTL clock starts at the <em>send</em> time of the request whose answer
 * renewed the lease (answers on the keep-alive stream are matched to their requests), never at the answer's
 * arrival: the server renewed the lease no earlier than that send, so the lease lives at least until then +
 * TTL, and the session is {@code LOST} here no later than the server can expire it. The state is also checked
 * against that clock whenever it is read ({@link #state()}, {@link #isUsable}), so a process that was paused
 * with an answer in flight never reports a usable session, or {@code RECONNECTED}, once the TTL counted from
 * the send has run out.
 *
 * <p>Listeners run on the builder's executor, else the client's callback executor, else a shared daemon pool
 * of recipes-core; never on a gRPC thread, never under a lock of ours, one at a time in the order of the
 * changes. Thread-safe.
 */
public final class Session implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Session.class);

  /** Where recipes put their fence keys unless {@link Builder#fencePrefix} says otherwise. */
  public static final String DEFAULT_FENCE_PREFIX = "__etcd-recipes/fence/";

  /** Go's default session TTL. */
  public static final Duration DEFAULT_TTL = Duration.ofSeconds(60);
  /** How long without a successful renewal before an extra one is sent (see the class comment). */
  public static final Duration DEFAULT_LOSS_CHECK_INTERVAL = Duration.ofMillis(500);

  private static final long TICK_MILLIS = 100;

  private final EtcdClient client;
  private final long leaseId;
  private final long grantedTtlSeconds;
  private final long suspendAfterNanos;
  private final long lossCheckNanos;
  private final Duration closeTimeout;
  private final io.etcdrecipes.client.ByteSequence fencePrefix;
  /** Where this session's listeners, and its ownerships' {@code onLost} listeners, run. */
  private final Executor callbackExecutor;
  private final Lease probeLease;
  private final OrderedDispatcher dispatcher;
  private final CopyOnWriteArrayList<Listener> listeners = new CopyOnWriteArrayList<>();
  private final CompletableFuture<Void> lost = new CompletableFuture<>();

  // guarded by this
  private SessionState state = SessionState.CONNECTED;
  private SessionLostException lostCause;
  /** The send time of the newest request whose answer renewed the lease: the local TTL clock starts here. */
  private long lastOkNanos;
  private long ttlNanos;
  /** When the session last became SUSPENDED: only a renewal sent after it makes it RECONNECTED. */
  private long suspendedAtNanos;
  private boolean probeInFlight;
  private long lastProbeNanos = System.nanoTime(); // nanoTime may be negative: no 0 sentinel
  private boolean stopping;
  private KeepAlive keepAlive;
  private ScheduledFuture<?> ticker;
  private CompletableFuture<Void> closeFuture;

  private Session(Builder b, long leaseId, long ttlSeconds, long renewedFromNanos) {
    this.client = b.client;
    this.leaseId = leaseId;
    this.grantedTtlSeconds = ttlSeconds;
    long ttl = TimeUnit.SECONDS.toNanos(ttlSeconds);
    this.suspendAfterNanos = b.suspendAfterNanos(ttl);
    this.lossCheckNanos = b.lossCheckInterval.toNanos();
    this.closeTimeout = b.closeTimeout != null ? b.closeTimeout : client.config().callTimeout();
    this.fencePrefix = b.fencePrefix != null ? b.fencePrefix
        : io.etcdrecipes.client.ByteSequence.of(DEFAULT_FENCE_PREFIX);
    this.probeLease = client.lease().withTimeout(Duration.ofNanos(Math.max(TimeUnit.MILLISECONDS.toNanos(200),
        Math.min(suspendAfterNanos, ttl / 3))));
    this.callbackExecutor = SharedExecutors.callbacks(client, b.executor);
    this.dispatcher = new OrderedDispatcher(callbackExecutor);
    for (SessionStateListener l : b.listeners) {
      this.listeners.add(new Listener(l));
    }
    this.lastOkNanos = renewedFromNanos;
    this.ttlNanos = ttl;
  }

  public static Builder builder(EtcdClient client) {
    return new Builder(client);
  }

  public EtcdClient client() {
    return client;
  }

  /** The ID of the session's lease: attach keys with {@code PutOption.lease(session.leaseId())}. */
  public long leaseId() {
    return leaseId;
  }

  /** The TTL the server granted (it may round a small TTL up). */
  public Duration ttl() {
    return Duration.ofSeconds(grantedTtlSeconds);
  }

  /** How long without a successful renewal before the session is {@link SessionState#SUSPENDED}. */
  public Duration suspendAfter() {
    return Duration.ofNanos(suspendAfterNanos);
  }

  /** The state now, checked against the local TTL clock (see the class comment). */
  public SessionState state() {
    return checkClock();
  }

  /** Not {@link SessionState#LOST}: the lease is (as far as we know) alive and kept alive. */
  public boolean isValid() {
    return state() != SessionState.LOST;
  }

  /** Whether a recipe under {@code policy} may act in this session's name now. */
  public boolean isUsable(SessionPolicy policy) {
    return policy.isUsable(state());
  }

  /** Where user callbacks of this session's recipes run: the builder's executor, else the client's. */
  Executor callbackExecutor() {
    return callbackExecutor;
  }

  /** Where this session's recipes put their fence keys ({@link Builder#fencePrefix}). */
  public io.etcdrecipes.client.ByteSequence fencePrefix() {
    return fencePrefix;
  }

  /** Why the session is lost, or {@code null} while it is not. */
  public SessionLostException lostCause() {
    checkClock();
    synchronized (this) {
      return lostCause;
    }
  }

  /**
   * Completes (normally) once the session is {@link SessionState#LOST}, after the listeners heard of it.
   * {@link #lostCause()} says why.
   */
  public CompletableFuture<Void> lost() {
    return lost.thenApply(v -> v);
  }

  /**
   * Adds a listener; closing the returned registration removes it. The listener hears every change made after
   * this call, never one made before it, and {@link SessionState#LOST} exactly once: a listener added to a lost
   * session hears {@code LOST} at once (on the executor). To miss nothing, add the listener first and read
   * {@link #state()} after.
   */
  public Registration addListener(SessionStateListener listener) {
    Listener entry = new Listener(Objects.requireNonNull(listener, "listener"));
    Runnable after;
    synchronized (this) {
      after = checkClockLocked(System.nanoTime());
      listeners.add(entry);
      if (state == SessionState.LOST) {
        // the LOST notification to the others (if still queued) carries a copy of the list without this one
        dispatcher.enqueue(() -> entry.deliver(this, SessionState.LOST));
      }
    }
    runAfter(after);
    dispatcher.flush();
    return entry;
  }

  /**
   * Stops keeping the lease alive without revoking it (Go: {@code Orphan}): its keys stay until the TTL runs
   * out, or until a new session resumes the lease ({@link Builder#leaseId(long)}). The session is then
   * {@link SessionState#LOST}; a later {@link #close()} does not revoke.
   */
  public void orphan() {
    KeepAlive ka;
    synchronized (this) {
      if (stopping) {
        return;
      }
      stopping = true;
      ka = stopLocked();
      loseLocked(SessionLostException.Reason.ORPHANED, "orphaned: keep-alive stopped, lease left to expire", null);
    }
    closeQuietly(ka);
    dispatcher.flush();
  }

  /**
   * Revokes the lease, so every key attached to it is deleted at once. The session is {@link SessionState#LOST}
   * (reason {@code CLOSED}) <em>before</em> the revoke is sent: nothing can find it usable once the server may
   * have deleted its keys. Waits for the revoke at most the close timeout (default: the client's call timeout);
   * a revoke that fails is logged (the lease then expires after its TTL). Never throws; an interrupt ends the
   * wait early and stays set. Idempotent; does not revoke after {@link #orphan()}.
   */
  @Override
  public void close() {
    CompletableFuture<Void> f = closeAsync();
    try {
      f.get(Blocking.nanos(closeTimeout.plusSeconds(1)), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
      // logged by closeAsync; the lease expires after its TTL anyway
    }
  }

  /** {@link #close()} without waiting: completes when the revoke is done, exceptionally if it failed. */
  public CompletableFuture<Void> closeAsync() {
    KeepAlive ka;
    CompletableFuture<Void> done;
    synchronized (this) {
      if (closeFuture != null) {
        return closeFuture.thenApply(v -> v);
      }
      closeFuture = done = new CompletableFuture<>();
      if (stopping) { // orphaned before: the lease is someone else's business now
        done.complete(null);
        return done.thenApply(v -> v);
      }
      stopping = true;
      ka = stopLocked();
      loseLocked(SessionLostException.Reason.CLOSED, "closed: the lease is revoked", null);
    }
    closeQuietly(ka);
    dispatcher.flush();
    client.lease().withTimeout(closeTimeout).revoke(leaseId).whenComplete((r, t) -> {
      Throwable cause = t == null ? null : Blocking.unwrap(t);
      if (cause == null || cause instanceof LeaseNotFoundException) {
        done.complete(null);
      } else {
        log.warn("session {}: revoke on close failed; the lease expires after its TTL of {} s",
            Long.toHexString(leaseId), grantedTtlSeconds, cause);
        done.completeExceptionally(cause);
      }
    });
    return done.thenApply(v -> v);
  }

  @Override
  public String toString() {
    return "Session{lease=" + Long.toHexString(leaseId) + ", ttl=" + grantedTtlSeconds + "s, state=" + state() + "}";
  }

  // ---------------------------------------------------------------------------------------------------------

  private void start() {
    long renewedAt;
    long ttlSeconds;
    synchronized (this) {
      renewedAt = lastOkNanos;
      ttlSeconds = TimeUnit.NANOSECONDS.toSeconds(ttlNanos);
    }
    KeepAlive ka = client.lease().keepAlive(leaseId, renewedAt, Math.max(1, ttlSeconds), new KeepAliveListener() {
      @Override
      public void onRenewed(LeaseKeepAliveResponse response) {
        renewed(response.requestSentNanos(), response.ttl());
      }

      @Override
      public void onLost(EtcdException cause) {
        keepAliveLost(cause);
      }
    });
    boolean stopNow;
    synchronized (this) {
      keepAlive = ka;
      stopNow = stopping || state == SessionState.LOST;
      if (!stopNow) {
        ticker = SharedExecutors.timer().scheduleWithFixedDelay(this::tick, TICK_MILLIS, TICK_MILLIS,
            TimeUnit.MILLISECONDS);
      }
    }
    if (stopNow) {
      closeQuietly(ka);
    }
    ka.done().whenComplete((v, t) -> {
      if (t != null) { // lost without onLost (e.g. the client was closing when it started): lost all the same
        Throwable c = Blocking.unwrap(t);
        keepAliveLost(c instanceof EtcdException e ? e : new EtcdException(ErrorCode.UNKNOWN, String.valueOf(c), c));
        return;
      }
      if (t == null) { // ended normally: we closed it, or the client was closed under us
        KeepAlive toClose;
        synchronized (this) {
          if (stopping || state == SessionState.LOST) {
            return;
          }
          toClose = stopLocked();
          loseLocked(SessionLostException.Reason.CLIENT_CLOSED, "the client was closed", null);
        }
        closeQuietly(toClose);
        dispatcher.flush();
      }
    });
  }

  /** A successful renewal of a request sent at {@code sentNanos}. */
  private void renewed(long sentNanos, long ttlSeconds) {
    Runnable after;
    synchronized (this) {
      if (state == SessionState.LOST || stopping) {
        return;
      }
      if (sentNanos - lastOkNanos > 0) {
        lastOkNanos = sentNanos;
      }
      if (ttlSeconds > 0) {
        ttlNanos = TimeUnit.SECONDS.toNanos(ttlSeconds);
      }
      long now = System.nanoTime();
      // An answer that arrives after the TTL counted from its send (a pause, a slow network) renews nothing
      // we may rely on: the server may have expired the lease since.
      after = checkClockLocked(now);
      reconnectIfRenewedLocked(now);
    }
    runAfter(after);
    dispatcher.flush();
  }

  /** SUSPENDED → RECONNECTED once a renewal sent after the suspension succeeded, and is fresh. */
  private void reconnectIfRenewedLocked(long now) {
    if (state == SessionState.SUSPENDED && lastOkNanos - suspendedAtNanos > 0 && now - lastOkNanos <= suspendAfterNanos) {
      transitionLocked(SessionState.RECONNECTED);
    }
  }

  /**
   * A recipe found the lease gone (the server answered a time-to-live query for it with "not found" after one of its
   * keys was deleted with it): the session is {@code LOST} now rather than at the next keep-alive.
   */
  void leaseFoundGone(String message) {
    KeepAlive ka;
    synchronized (this) {
      if (state == SessionState.LOST || stopping) {
        return;
      }
      ka = stopLocked();
      loseLocked(SessionLostException.Reason.LEASE_GONE, message, null);
    }
    closeQuietly(ka);
    dispatcher.flush();
  }

  private void keepAliveLost(EtcdException cause) {
    KeepAlive ka;
    boolean gone = cause instanceof LeaseNotFoundException || cause.serverError() == ServerError.LEASE_NOT_FOUND;
    synchronized (this) {
      if (state == SessionState.LOST || stopping) {
        return;
      }
      ka = stopLocked();
      if (gone) {
        loseLocked(SessionLostException.Reason.LEASE_GONE, "the server says the lease does not exist", cause);
      } else {
        loseLocked(SessionLostException.Reason.EXPIRED_LOCALLY, "keep-alive gave up: " + cause.getMessage(), cause);
      }
    }
    closeQuietly(ka);
    dispatcher.flush();
    if (!gone) {
      revokeQuietly(); // we told everyone it is lost: if the server still has it, do not let its keys linger
    }
  }

  private void revokeQuietly() {
    client.lease().withTimeout(closeTimeout).revoke(leaseId).exceptionally(t -> null);
  }

  /** The state after checking the local TTL clock now. */
  private SessionState checkClock() {
    Runnable after;
    SessionState s;
    synchronized (this) {
      after = checkClockLocked(System.nanoTime());
      s = state;
    }
    runAfter(after);
    return s;
  }

  /**
   * Applies the local TTL clock: LOST once the TTL counted from the last credited send ran out, SUSPENDED after
   * {@code suspendAfter}. Returns what to do once the lock is released (or null).
   */
  private Runnable checkClockLocked(long now) {
    if (state == SessionState.LOST || stopping) {
      return null;
    }
    if (keepAlive != null) { // the stream's credit as soon as it read the answer, not when a callback got to run
      long renewedAt = keepAlive.renewedAtNanos();
      if (renewedAt != Long.MIN_VALUE && renewedAt - lastOkNanos > 0) {
        lastOkNanos = renewedAt;
      }
    }
    long since = now - lastOkNanos;
    if (since >= ttlNanos) {
      KeepAlive ka = stopLocked();
      loseLocked(SessionLostException.Reason.EXPIRED_LOCALLY, "no successful renewal for "
          + TimeUnit.NANOSECONDS.toMillis(since) + " ms (counted from the renewal's send), TTL "
          + TimeUnit.NANOSECONDS.toMillis(ttlNanos) + " ms", null);
      return () -> {
        closeQuietly(ka);
        dispatcher.flush();
        revokeQuietly(); // we told everyone it is lost; if the server still has the lease, do not let its keys linger
      };
    }
    if (state.isConnected() && since > suspendAfterNanos) {
      suspendLocked(now);
      return dispatcher::flush;
    }
    if (state == SessionState.SUSPENDED) {
      reconnectIfRenewedLocked(now);
      return dispatcher::flush;
    }
    return null;
  }

  private void suspendLocked(long now) {
    if (state.isConnected()) {
      suspendedAtNanos = now;
      transitionLocked(SessionState.SUSPENDED);
    }
  }

  private void tick() {
    try {
      tickOnce();
    } catch (Throwable t) { // a scheduled task that throws is never run again
      log.error("session {}: tick failed; continuing", Long.toHexString(leaseId), t);
    }
  }

  private void tickOnce() {
    boolean probe = false;
    long now = System.nanoTime();
    Runnable after;
    synchronized (this) {
      after = checkClockLocked(now);
      if (state != SessionState.LOST && !stopping) {
        long since = now - lastOkNanos;
        if (lossCheckNanos > 0 && !probeInFlight && since >= lossCheckNanos && now - lastProbeNanos >= lossCheckNanos) {
          probeInFlight = true;
          lastProbeNanos = now;
          probe = true;
        }
      }
    }
    runAfter(after);
    if (probe) {
      probeLease.keepAliveOnce(leaseId).whenComplete(this::probed);
    }
  }

  private void probed(LeaseKeepAliveResponse r, Throwable t) {
    synchronized (this) {
      probeInFlight = false;
    }
    if (t == null) {
      renewed(r.requestSentNanos(), r.ttl());
      return;
    }
    Throwable cause = Blocking.unwrap(t);
    KeepAlive ka = null;
    Runnable runLater = null;
    synchronized (this) {
      if (state == SessionState.LOST || stopping) {
        return;
      }
      if (cause instanceof LeaseNotFoundException) {
        ka = stopLocked();
        loseLocked(SessionLostException.Reason.LEASE_GONE, "the server says the lease does not exist", cause);
      } else if (cause instanceof ClosedClientException) {
        ka = stopLocked();
        loseLocked(SessionLostException.Reason.CLIENT_CLOSED, "the client was closed", cause);
      } else {
        long now = System.nanoTime();
        Runnable after = checkClockLocked(now);
        if (after != null && state == SessionState.LOST) {
          runLater = after;
        } else if (state.isConnected() && now - lastOkNanos > lossCheckNanos) {
          log.debug("session {}: renewal failed: {}", Long.toHexString(leaseId), cause.toString());
          suspendLocked(now);
        }
      }
    }
    closeQuietly(ka);
    runAfter(runLater);
    dispatcher.flush();
  }

  private static void runAfter(Runnable after) {
    if (after != null) {
      after.run();
    }
  }

  /** Stops the ticker; returns the keep-alive to close after the lock is released. */
  private KeepAlive stopLocked() {
    if (ticker != null) {
      ticker.cancel(false);
      ticker = null;
    }
    KeepAlive ka = keepAlive;
    keepAlive = null;
    return ka;
  }

  /**
   * Moves to {@code next} and queues the notification with a copy of the listener list: a listener added later
   * never hears of a state entered before it was added.
   */
  private void transitionLocked(SessionState next) {
    if (state == next || state == SessionState.LOST) {
      return;
    }
    log.debug("session {}: {} -> {}", Long.toHexString(leaseId), state, next);
    state = next;
    List<Listener> snapshot = List.copyOf(listeners);
    dispatcher.enqueue(() -> {
      for (Listener l : snapshot) {
        l.deliver(this, next);
      }
    });
  }

  private void loseLocked(SessionLostException.Reason reason, String message, Throwable cause) {
    if (state == SessionState.LOST) {
      return;
    }
    lostCause = new SessionLostException(leaseId, reason, message, cause);
    if (reason != SessionLostException.Reason.CLOSED && reason != SessionLostException.Reason.ORPHANED) {
      log.info("{}", lostCause.getMessage());
    }
    transitionLocked(SessionState.LOST);
    dispatcher.enqueue(() -> lost.complete(null));
  }

  private static void closeQuietly(KeepAlive ka) {
    if (ka != null) {
      try {
        ka.close();
      } catch (RuntimeException e) {
        log.debug("closing keep-alive", e);
      }
    }
  }

  /** A registered listener; closing it removes it. */
  private final class Listener implements Registration {
    final SessionStateListener listener;
    volatile boolean removed;

    Listener(SessionStateListener listener) {
      this.listener = listener;
    }

    /** Runs on the dispatcher, one notification at a time. */
    void deliver(Session s, SessionState st) {
      if (removed) {
        return;
      }
      try {
        listener.stateChanged(s, st);
      } catch (RuntimeException e) {
        log.warn("session state listener {} threw on {}", listener, st, e);
      }
    }

    @Override
    public void close() {
      removed = true;
      listeners.remove(this);
    }
  }

  /**
   * Builds a {@link Session}: grants a lease (or resumes one) and starts keeping it alive. Each setter may be
   * called once ({@link IllegalStateException} on a second call); {@link #listener} adds one listener per call.
   */
  public static final class Builder {
    private final EtcdClient client;
    private long ttlSeconds = DEFAULT_TTL.getSeconds();
    private boolean ttlSet;
    private long leaseId;
    private Duration suspendAfter;
    private double suspendFraction;
    private Duration lossCheckInterval = DEFAULT_LOSS_CHECK_INTERVAL;
    private boolean lossCheckSet;
    private Duration closeTimeout;
    private Executor executor;
    private io.etcdrecipes.client.ByteSequence fencePrefix;
    private final java.util.List<SessionStateListener> listeners = new java.util.ArrayList<>();

    private Builder(EtcdClient client) {
      this.client = Objects.requireNonNull(client, "client");
    }

    private static void once(boolean alreadySet, String name) {
      if (alreadySet) {
        throw new IllegalStateException(name + " is already set");
      }
    }

    /** The lease TTL: whole seconds, at least 1 (default 60 s). Ignored when resuming a lease. */
    public Builder ttl(Duration ttl) {
      Objects.requireNonNull(ttl, "ttl");
      once(ttlSet, "ttl");
      if (ttl.getNano() != 0 || ttl.getSeconds() < 1) {
        throw new IllegalArgumentException("ttl: a session TTL is whole seconds, at least 1; got " + ttl);
      }
      this.ttlSeconds = ttl.getSeconds();
      this.ttlSet = true;
      return this;
    }

    /** Resume this existing lease instead of granting one (after a restart); the build fails if it is gone. */
    public Builder leaseId(long leaseId) {
      once(this.leaseId != 0, "leaseId");
      if (leaseId <= 0) {
        throw new IllegalArgumentException("leaseId must be > 0, got " + leaseId);
      }
      this.leaseId = leaseId;
      return this;
    }

    /** Suspend after this long without a successful renewal; must be shorter than the TTL. */
    public Builder suspendAfter(Duration threshold) {
      Objects.requireNonNull(threshold, "threshold");
      once(suspendAfter != null || suspendFraction > 0, "suspendAfter");
      if (threshold.isNegative() || threshold.isZero()) {
        throw new IllegalArgumentException("suspendAfter must be > 0, got " + threshold);
      }
      this.suspendAfter = threshold;
      return this;
    }

    /** Suspend after this fraction of the TTL without a successful renewal, in (0, 1). */
    public Builder suspendAfter(double fractionOfTtl) {
      once(suspendAfter != null || suspendFraction > 0, "suspendAfter");
      if (!(fractionOfTtl > 0 && fractionOfTtl < 1)) {
        throw new IllegalArgumentException("suspendAfter fraction must be in (0, 1), got " + fractionOfTtl);
      }
      this.suspendFraction = fractionOfTtl;
      return this;
    }

    /**
     * Send an extra renewal when none succeeded for this long (default 500 ms), so a revoked lease is noticed
     * that quickly; {@link Duration#ZERO} turns it off (revocation is then noticed at the next regular renewal,
     * within TTL/3).
     */
    public Builder lossCheckInterval(Duration interval) {
      Objects.requireNonNull(interval, "interval");
      once(lossCheckSet, "lossCheckInterval");
      if (interval.isNegative()) {
        throw new IllegalArgumentException("lossCheckInterval must be >= 0, got " + interval);
      }
      this.lossCheckInterval = interval;
      this.lossCheckSet = true;
      return this;
    }

    /** How long {@link Session#close()} waits for the revoke (default: the client's call timeout). */
    public Builder closeTimeout(Duration timeout) {
      Objects.requireNonNull(timeout, "timeout");
      once(closeTimeout != null, "closeTimeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("closeTimeout must be > 0, got " + timeout);
      }
      this.closeTimeout = timeout;
      return this;
    }

    /** Where listeners run (default: the client's callback executor, else a shared daemon pool). */
    public Builder executor(Executor executor) {
      Objects.requireNonNull(executor, "executor");
      once(this.executor != null, "executor");
      this.executor = executor;
      return this;
    }

    /**
     * Where this session's recipes put their fence keys (default {@value #DEFAULT_FENCE_PREFIX}): every create of a
     * lock, permit or election key compares one, and a create whose answer was lost writes one (a small key on the
     * session's lease, gone with it). With RBAC, the application's role needs read and write on this prefix; put it
     * under the application's own prefix (say {@code "app/_fences/"}) to need no other permission — but not under the
     * name of any lock or election (one named {@code "app"} would read the fence keys as contenders). Not empty.
     */
    public Builder fencePrefix(String prefix) {
      Objects.requireNonNull(prefix, "prefix");
      once(fencePrefix != null, "fencePrefix");
      if (prefix.isEmpty()) {
        throw new IllegalArgumentException("fencePrefix must not be empty");
      }
      this.fencePrefix = io.etcdrecipes.client.ByteSequence.of(prefix);
      return this;
    }

    /** A listener in place before keep-alive starts, so it misses no change. */
    public Builder listener(SessionStateListener listener) {
      this.listeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    long suspendAfterNanos(long ttlNanos) {
      long s;
      if (suspendAfter != null) {
        s = suspendAfter.toNanos();
      } else if (suspendFraction > 0) {
        s = (long) (ttlNanos * suspendFraction);
      } else {
        // Renewals go out a third of the TTL after the last credited send and are answered a round trip later:
        // suspending at TTL/3 would flap on every renewal when no extra renewals fill the gap. TTL/2, but at least
        // min(1 s, 2/3 TTL) for short TTLs.
        s = Math.max(ttlNanos / 2, Math.min(TimeUnit.SECONDS.toNanos(1), ttlNanos / 3 * 2));
      }
      if (s <= 0) {
        throw new IllegalArgumentException("suspendAfter must come to more than 0, got " + Duration.ofNanos(s));
      }
      if (s >= ttlNanos) {
        throw new IllegalArgumentException("suspendAfter (" + Duration.ofNanos(s) + ") must be shorter than the TTL ("
            + Duration.ofNanos(ttlNanos) + ")");
      }
      return s;
    }

    /**
     * Grants (or resumes) the lease and starts keeping it alive, waiting at most {@code timeout}. On
     * {@link TimeoutException} or interrupt nothing is left behind: a lease granted after the wait ended is
     * revoked. Fails with an {@link EtcdException} ({@link LeaseNotFoundException} when a resumed lease is gone).
     */
    public Session build(Duration timeout) throws InterruptedException, TimeoutException {
      Blocking.checkTimeout(timeout, "timeout");
      CompletableFuture<Session> f = buildAsync();
      try {
        return Blocking.await(f, timeout);
      } catch (InterruptedException | TimeoutException | RuntimeException | Error e) {
        abandon(f);
        throw e;
      }
    }

    /**
     * {@link #build(Duration)} without a timeout of its own: bounded by the client's call timeout (the grant is
     * one RPC), interruptible; an interrupt leaves nothing behind.
     */
    public Session build() throws InterruptedException {
      CompletableFuture<Session> f = buildAsync();
      try {
        return Blocking.await(f);
      } catch (InterruptedException | RuntimeException | Error e) {
        abandon(f);
        throw e;
      }
    }

    /**
     * The caller gave up: a session built after that is not left running. A granted lease is revoked; a resumed one
     * is only let go of (orphaned): its keys belong to the process that is resuming it.
     */
    private void abandon(CompletableFuture<Session> f) {
      boolean resumed = leaseId != 0;
      f.whenComplete((s, t) -> {
        if (s != null) {
          if (resumed) {
            s.orphan();
          } else {
            s.closeAsync();
          }
        }
      });
    }

    /** {@link #build()} without blocking. */
    public CompletableFuture<Session> buildAsync() {
      if (suspendAfter != null && leaseId == 0 && suspendAfter.toNanos() >= TimeUnit.SECONDS.toNanos(ttlSeconds)) {
        return CompletableFuture.failedFuture(new IllegalArgumentException(
            "suspendAfter (" + suspendAfter + ") must be shorter than the TTL (" + ttlSeconds + " s)"));
      }
      CompletableFuture<long[]> lease;
      if (leaseId == 0) {
        // A grant is renewed on the server no earlier than it was sent.
        long sent = System.nanoTime();
        lease = client.lease().grant(ttlSeconds).thenApply(r -> new long[] {r.id(), r.ttl(), sent});
      } else {
        long id = leaseId;
        lease = client.lease().keepAliveOnce(id).thenApply(r -> new long[] {id, r.ttl(), r.requestSentNanos()});
      }
      boolean granted = leaseId == 0;
      return lease.thenApply(idTtl -> {
        Session s;
        try {
          s = new Session(this, idTtl[0], idTtl[1], idTtl[2]);
        } catch (RuntimeException e) { // e.g. suspendAfter not below the TTL the server granted
          if (granted) {
            client.lease().revoke(idTtl[0]).exceptionally(t -> null);
          }
          throw e;
        }
        s.start();
        return s;
      });
    }
  }
}
