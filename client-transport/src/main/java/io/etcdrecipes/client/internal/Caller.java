package io.etcdrecipes.client.internal;

import dev.failsafe.Failsafe;
import dev.failsafe.RetryPolicy;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.ServerError;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ClientStreamTracer;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Runs unary RPCs: picks a member, applies the deadline, and retries with Go's rules.
 *
 * <p>Repeatable calls (reads, status, lists) are retried on UNAVAILABLE. Calls that change state (put,
 * delete, txn, compact, admin writes) are retried only when the request provably never left this client
 * (no message was handed to a transport), so a write is never applied twice behind the caller's back.
 * The first attempt runs directly; only a retryable failure goes on under a Failsafe retry policy with
 * jittered backoff, bounded in attempts and by the call's deadline.
 */
public final class Caller {

  /** Whether a call may be repeated after it reached the server. */
  public enum Retry { REPEATABLE, NON_REPEATABLE, NEVER }

  private final Connection connection;
  private final AuthTokens tokens;
  private final Metrics metrics;

  public Caller(Connection connection, AuthTokens tokens, Metrics metrics) {
    this.connection = connection;
    this.tokens = tokens;
    this.metrics = metrics;
  }

  public Connection connection() {
    return connection;
  }

  public <Q, R> CompletableFuture<R> call(MethodDescriptor<Q, R> method, Q request, Retry retry, Duration timeout) {
    return call(method, request, retry, timeout, null, Function.identity());
  }

  /**
   * Calls {@code method}. With {@code target} set, the call goes to that member only and fails over to
   * nobody (maintenance calls aimed at one member).
   */
  public <Q, R> CompletableFuture<R> call(MethodDescriptor<Q, R> method, Q request, Retry retry, Duration timeout,
                                          Connection.EndpointChannel target) {
    return call(method, request, retry, timeout, target, Function.identity());
  }

  /**
   * Calls {@code method} and converts its response with {@code mapper} in the same step. The common case,
   * a first attempt that succeeds, costs one future and one listener: retries and token refreshes only
   * build more when they happen.
   */
  public <Q, R, T> CompletableFuture<T> call(MethodDescriptor<Q, R> method, Q request, Retry retry, Duration timeout,
                                             Connection.EndpointChannel target, Function<? super R, ? extends T> mapper) {
    if (connection.isClosed()) {
      return CompletableFuture.failedFuture(Errors.closed());
    }
    Deadline deadline = Deadline.after(timeout.toNanos(), TimeUnit.NANOSECONDS);
    Call<Q, R, T> c = new Call<>(method, request, retry, deadline, target, mapper);
    if (tokens != null && tokens.current() == null && !tokens.isAuthenticate(method)) {
      tokens.refresh(null).whenComplete((t, e) -> {
        if (e != null) {
          c.finish(null, e);
        } else {
          c.firstAttempt();
        }
      });
    } else {
      c.firstAttempt();
    }
    return c.out;
  }

  /** One call: its first attempt runs directly; on a retryable failure the rest goes to {@link #retry}. */
  private final class Call<Q, R, T> implements AttemptCallback<R> {
    final CompletableFuture<T> out = new CompletableFuture<>();
    final MethodDescriptor<Q, R> method;
    final Q request;
    final Retry retry;
    final Deadline deadline;
    final Connection.EndpointChannel target;
    final Function<? super R, ? extends T> mapper;
    final long start = System.nanoTime();

    Call(MethodDescriptor<Q, R> method, Q request, Retry retry, Deadline deadline, Connection.EndpointChannel target,
         Function<? super R, ? extends T> mapper) {
      this.method = method;
      this.request = request;
      this.retry = retry;
      this.deadline = deadline;
      this.target = target;
      this.mapper = mapper;
    }

    void firstAttempt() {
      start(method, request, deadline, target, retry, this);
    }

    @Override
    public void succeeded(R response) {
      finish(response, null);
    }

    @Override
    public void failed(Throwable t) {
      AttemptFailure f = failureOf(t);
      if (f != null && isRetryable(f, retry, deadline)) {
        Caller.this.retry(method, request, retry, deadline, target, f).whenComplete(this::finish);
      } else {
        finish(null, t);
      }
    }

    void finish(R response, Throwable t) {
      Throwable failure = t;
      T value = null;
      if (failure == null) {
        try {
          value = mapper.apply(response);
        } catch (RuntimeException e) {
          failure = e;
        }
      }
      if (failure != null) {
        failure = toPublic(failure);
      }
      // recorded before the caller hears the outcome: whoever has seen a call end also sees it counted
      if (metrics != null) {
        metrics.record(method, failure, System.nanoTime() - start);
      }
      if (failure == null) {
        out.complete(value);
      } else {
        out.completeExceptionally(failure);
      }
    }
  }

  private <Q, R> CompletableFuture<R> retry(MethodDescriptor<Q, R> method, Q request, Retry retry,
                                            Deadline deadline, Connection.EndpointChannel target,
                                            AttemptFailure firstFailure) {
    RetryPolicy<R> policy = RetryPolicy.<R>builder()
        .handleIf((r, t) -> {
          AttemptFailure f = failureOf(t);
          return f != null && isRetryable(f, retry, deadline);
        })
        .withBackoff(Duration.ofMillis(25), Duration.ofMillis(500))
        .withJitter(0.25)
        .withMaxRetries(Math.max(0, connection.config().maxRetries() - 2))
        .build();
    // The backoff may end after the deadline; then the caller gets the last real failure (say, a refused
    // TLS handshake) rather than gRPC's "started after the deadline".
    java.util.concurrent.atomic.AtomicReference<AttemptFailure> last =
        new java.util.concurrent.atomic.AtomicReference<>(firstFailure);
    return Failsafe.with(policy).with(connection.scheduler())
        .getStageAsync(() -> {
          if (deadline.isExpired()) {
            return CompletableFuture.<R>failedFuture(last.get());
          }
          CompletableFuture<R> next;
          AttemptFailure previous = last.get();
          if (previous.invalidToken() && tokens != null) {
            next = tokens.refresh(previous.token())
                .thenCompose(t -> attempt(method, request, deadline, target, retry));
          } else {
            next = attempt(method, request, deadline, target, retry);
          }
          return next.whenComplete((r, t) -> {
            AttemptFailure f = t == null ? null : failureOf(t);
            if (f != null) {
              last.set(f);
            }
          });
        });
  }

  private boolean isRetryable(AttemptFailure f, Retry retry, Deadline deadline) {
    if (connection.isClosed() || deadline.isExpired() || retry == Retry.NEVER) {
      return false;
    }
    if (f.invalidToken()) {
      return tokens != null;
    }
    if (f.status().getCode() != Status.Code.UNAVAILABLE) {
      return false;
    }
    return retry == Retry.REPEATABLE || !f.sent();
  }

  private <Q, R> CompletableFuture<R> attempt(MethodDescriptor<Q, R> method, Q request, Deadline deadline,
                                              Connection.EndpointChannel target, Retry retry) {
    CompletableFuture<R> f = new CompletableFuture<>();
    start(method, request, deadline, target, retry, new AttemptCallback<R>() {
      @Override
      public void succeeded(R response) {
        f.complete(response);
      }

      @Override
      public void failed(Throwable t) {
        f.completeExceptionally(t);
      }
    });
    return f;
  }

  /** Sends one attempt to {@code target} or to the member {@link Connection#pick()} chooses. */
  private <Q, R> void start(MethodDescriptor<Q, R> method, Q request, Deadline deadline,
                            Connection.EndpointChannel target, Retry retry, AttemptCallback<R> callback) {
    if (connection.isClosed()) {
      callback.failed(Errors.closed());
      return;
    }
    Connection.EndpointChannel ep = target != null ? target : connection.pick();
    String token = tokens == null ? null : tokens.current();
    CallOptions options = CallOptions.DEFAULT.withDeadline(deadline);
    // Whether the request reached a transport matters only for calls that must not run twice.
    SentTracer sent = retry == Retry.NON_REPEATABLE ? new SentTracer() : null;
    if (sent != null) {
      options = options.withStreamTracerFactory(sent);
    }
    ClientCall<Q, R> call = ep.channel().newCall(method, options);
    new UnaryCall<>(call, ep, sent, token, callback).start(request, headers(method, token));
  }

  /** The metadata every call carries: the auth token and, with require-leader, {@code hasleader}. */
  public Metadata headers(MethodDescriptor<?, ?> method, String token) {
    Metadata md = new Metadata();
    if (token != null && (tokens == null || !tokens.isAuthenticate(method))) {
      md.put(Headers.TOKEN, token);
    }
    if (connection.config().requireLeader()) {
      md.put(Headers.HAS_LEADER, "true");
    }
    return md;
  }

  public AuthTokens tokens() {
    return tokens;
  }

  private Throwable toPublic(Throwable t) {
    Throwable c = Errors.unwrap(t);
    if (c instanceof AttemptFailure) {
      AttemptFailure f = (AttemptFailure) c;
      return Errors.fromStatus(f.status(), new StatusRuntimeException(f.status()));
    }
    if (c instanceof EtcdException) {
      return c;
    }
    if (connection.isClosed()) {
      return Errors.closed();
    }
    return Errors.toEtcdException(c);
  }

  private static AttemptFailure failureOf(Throwable t) {
    Throwable c = Errors.unwrap(t);
    return c instanceof AttemptFailure ? (AttemptFailure) c : null;
  }

  /** Notes whether the request message was handed to a transport, i.e. may have reached the server. */
  static final class SentTracer extends ClientStreamTracer.Factory {
    volatile boolean sent;

    @Override
    public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info, Metadata headers) {
      return new ClientStreamTracer() {
        @Override
        public void outboundMessage(int seqNo) {
          sent = true;
        }
      };
    }
  }

  /** A failed attempt, with what the retry decision needs. Never reaches users. */
  static final class AttemptFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient Status status;
    private final boolean sent;
    private final String token;

    AttemptFailure(Status status, boolean sent, String token) {
      super(status.toString(), null, false, false);
      this.status = status;
      this.sent = sent;
      this.token = token;
    }

    Status status() {
      return status;
    }

    boolean sent() {
      return sent;
    }

    String token() {
      return token;
    }

    boolean invalidToken() {
      ServerError e = ServerError.forMessage(status.getDescription());
      return e == ServerError.INVALID_AUTH_TOKEN || e == ServerError.AUTH_OLD_REVISION;
    }
  }

  /** Where an attempt reports; called on the callback executor (gRPC's call executor). */
  private interface AttemptCallback<R> {
    void succeeded(R response);

    void failed(Throwable failure);
  }

  /** One attempt of a unary call. */
  private final class UnaryCall<Q, R> extends ClientCall.Listener<R> {
    private final ClientCall<Q, R> call;
    private final Connection.EndpointChannel endpoint;
    private final SentTracer sent;
    private final String token;
    private final AttemptCallback<R> callback;
    private R response;

    UnaryCall(ClientCall<Q, R> call, Connection.EndpointChannel endpoint, SentTracer sent, String token,
              AttemptCallback<R> callback) {
      this.call = call;
      this.endpoint = endpoint;
      this.sent = sent;
      this.token = token;
      this.callback = callback;
    }

    void start(Q request, Metadata headers) {
      try {
        call.start(this, headers);
        call.request(2);
        call.sendMessage(request);
        call.halfClose();
      } catch (RuntimeException | Error e) {
        call.cancel("failed to send", e);
        callback.failed(e);
      }
    }

    @Override
    public void onMessage(R message) {
      response = message;
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      status = Errors.transportStatus(status);
      if (status.isOk()) {
        if (response == null) {
          callback.failed(new AttemptFailure(
              Status.INTERNAL.withDescription("no response message from " + endpoint), true, token));
        } else {
          endpoint.healthy();
          callback.succeeded(response);
        }
        return;
      }
      Status.Code code = status.getCode();
      if (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) {
        // A member that refuses, drops or sits on a call is passed over by the next ones for a while.
        if (ServerError.forMessage(status.getDescription()) == null) {
          connection.suspect(endpoint);
        }
      }
      // Without a tracer (repeatable calls) "sent" does not matter to the retry decision: count it as sent.
      callback.failed(new AttemptFailure(status, sent == null || sent.sent, token));
    }
  }
}
