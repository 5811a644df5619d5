package io.etcdrecipes.client;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Users, roles and permissions, and switching authentication on and off (Go: {@code clientv3.Auth}).
 *
 * <p>Once auth is enabled, every call needs a token: build the client with
 * {@link EtcdClient.Builder#credentials(String, String)} and it authenticates before its first call and
 * again, once for all concurrent calls, whenever the server rejects the token (a simple token expires after
 * {@code --auth-token-ttl} seconds of idleness). Changes are admin writes and are not retried once they may
 * have reached a member; reads (get, list, status) are retried on another member.
 *
 * <p>Permission keys are raw keys: the client's {@link EtcdClient.Builder#namespace(String) namespace} is not
 * applied to them (as in Go, whose namespace package does not wrap Auth).
 */
public interface Auth {

  /** Turns authentication on. Needs a {@code root} user that has the {@code root} role. */
  CompletableFuture<AuthResponse> authEnable();

  /** Turns authentication off (by a user with the root role). */
  CompletableFuture<AuthResponse> authDisable();

  /**
   * Whether auth is enabled, and the auth store's revision. etcd 3.5 and later only: on 3.4 the future fails
   * with an {@link EtcdException} whose {@link EtcdException#code() code} is {@link ErrorCode#UNIMPLEMENTED}.
   */
  CompletableFuture<AuthStatusResponse> authStatus();

  /**
   * Checks a user's password and returns a token for it (Go: {@code Authenticate}). Wrong credentials
   * fail with {@link AuthFailedException}; auth disabled with {@link AuthNotEnabledException}.
   */
  CompletableFuture<AuthenticateResponse> authenticate(String name, String password);

  /** Adds a user with a password. */
  CompletableFuture<AuthResponse> userAdd(String name, String password);

  /**
   * Adds a user without a password, who can authenticate only by other means (a TLS client certificate
   * whose common name is the user's name). etcd 3.4 and later.
   */
  CompletableFuture<AuthResponse> userAddNoPassword(String name);

  /** The roles granted to a user. */
  CompletableFuture<UserGetResponse> userGet(String name);

  /** The names of all users. */
  CompletableFuture<UserListResponse> userList();

  CompletableFuture<AuthResponse> userDelete(String name);

  CompletableFuture<AuthResponse> userChangePassword(String name, String password);

  CompletableFuture<AuthResponse> userGrantRole(String user, String role);

  CompletableFuture<AuthResponse> userRevokeRole(String user, String role);

  CompletableFuture<AuthResponse> roleAdd(String name);

  /** The permissions granted to a role. */
  CompletableFuture<RoleGetResponse> roleGet(String name);

  /** The names of all roles. */
  CompletableFuture<RoleListResponse> roleList();

  CompletableFuture<AuthResponse> roleDelete(String name);

  /**
   * Grants the role {@code type} access to {@code key} alone ({@code rangeEnd} {@code null} or empty), or to
   * the range [{@code key}, {@code rangeEnd}): use {@code key.prefixEnd()} for every key under a prefix and
   * {@link ByteSequence#NUL} for every key from {@code key} on.
   */
  CompletableFuture<AuthResponse> roleGrantPermission(String role, ByteSequence key, ByteSequence rangeEnd,
                                                      Permission.Type type);

  /** Removes the permission on exactly this key or range from the role. */
  CompletableFuture<AuthResponse> roleRevokePermission(String role, ByteSequence key, ByteSequence rangeEnd);

  /** This Auth with another per-call deadline. */
  Auth withTimeout(Duration timeout);
}
