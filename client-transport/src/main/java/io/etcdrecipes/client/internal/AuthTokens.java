package io.etcdrecipes.client.internal;

import io.etcdrecipes.proto.etcdserverpb.AuthGrpc;
import io.etcdrecipes.proto.etcdserverpb.AuthenticateRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthenticateResponse;
import io.grpc.MethodDescriptor;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * The client's auth token: fetched with Authenticate before the first call, and fetched again,
 * single-flight, when the server rejects it (invalid token, or an auth revision that is old). Many calls
 * failing on the same token cause one Authenticate; the others wait for it.
 */
public final class AuthTokens {

  private final String username;
  private final String password;
  private final Duration timeout;
  private Function<AuthenticateRequest, CompletableFuture<AuthenticateResponse>> authenticate;
  private volatile String token;
  private CompletableFuture<String> inFlight;
  private volatile long authenticateCount;

  public AuthTokens(String username, String password, Duration timeout) {
    this.username = username;
    this.password = password;
    this.timeout = timeout;
  }

  /** Wires in the Authenticate call (the caller is built after this object). */
  public void bind(Caller caller) {
    this.authenticate = req -> caller.call(AuthGrpc.getAuthenticateMethod(), req, Caller.Retry.REPEATABLE, timeout);
  }

  public String current() {
    return token;
  }

  /** How many Authenticate calls this client made: for tests of the single-flight refresh. */
  public long authenticateCount() {
    return authenticateCount;
  }

  boolean isAuthenticate(MethodDescriptor<?, ?> method) {
    return method == AuthGrpc.getAuthenticateMethod();
  }

  /**
   * A fresh token. {@code stale} is the token the failed call carried: when another call already replaced
   * it, that newer token is returned without a new Authenticate.
   */
  public synchronized CompletableFuture<String> refresh(String stale) {
    String now = token;
    if (now != null && !now.equals(stale)) {
      return CompletableFuture.completedFuture(now);
    }
    if (inFlight != null) {
      return inFlight;
    }
    authenticateCount++;
    CompletableFuture<String> f = authenticate.apply(
            AuthenticateRequest.newBuilder().setName(username).setPassword(password).build())
        .thenApply(AuthenticateResponse::getToken);
    inFlight = f;
    f.whenComplete((t, e) -> {
      synchronized (AuthTokens.this) {
        if (e == null) {
          token = t;
        }
        inFlight = null;
      }
    });
    return f;
  }
}
