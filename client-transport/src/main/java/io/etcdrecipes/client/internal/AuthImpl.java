package io.etcdrecipes.client.internal;

import io.etcdrecipes.client.Auth;
import io.etcdrecipes.client.AuthResponse;
import io.etcdrecipes.client.AuthStatusResponse;
import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Permission;
import io.etcdrecipes.client.RoleGetResponse;
import io.etcdrecipes.client.RoleListResponse;
import io.etcdrecipes.client.UserGetResponse;
import io.etcdrecipes.client.UserListResponse;
import io.etcdrecipes.proto.authpb.UserAddOptions;
import io.etcdrecipes.proto.etcdserverpb.AuthDisableRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthEnableRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthGrpc;
import io.etcdrecipes.proto.etcdserverpb.AuthRoleAddRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthRoleDeleteRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthRoleGetRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthRoleListRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthRoleRevokePermissionRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthStatusRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthUserAddRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthUserChangePasswordRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthUserDeleteRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthUserGetRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthUserGrantRoleRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthUserListRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthUserRevokeRoleRequest;
import io.etcdrecipes.proto.etcdserverpb.ResponseHeader;
import com.google.protobuf.ByteString;
import io.grpc.MethodDescriptor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/** The Auth service: admin writes NON_REPEATABLE, reads REPEATABLE. Passwords are sent in clear text. */
public final class AuthImpl implements Auth {

  private final Caller caller;
  private final Duration timeout;

  public AuthImpl(Caller caller, Duration timeout) {
    this.caller = caller;
    this.timeout = timeout;
  }

  /** An admin write that answers with a header only. */
  private <Q, R> CompletableFuture<AuthResponse> write(MethodDescriptor<Q, R> method, Q request,
                                                      Function<R, ResponseHeader> header) {
    return caller.call(method, request, Caller.Retry.NON_REPEATABLE, timeout)
        .thenApply(r -> new AuthResponse(KvProtos.header(header.apply(r))));
  }

  @Override
  public CompletableFuture<AuthResponse> authEnable() {
    return write(AuthGrpc.getAuthEnableMethod(), AuthEnableRequest.getDefaultInstance(), r -> r.getHeader());
  }

  @Override
  public CompletableFuture<AuthResponse> authDisable() {
    return write(AuthGrpc.getAuthDisableMethod(), AuthDisableRequest.getDefaultInstance(), r -> r.getHeader());
  }

  @Override
  public CompletableFuture<io.etcdrecipes.client.AuthenticateResponse> authenticate(String name, String password) {
    return caller.call(AuthGrpc.getAuthenticateMethod(),
            io.etcdrecipes.proto.etcdserverpb.AuthenticateRequest.newBuilder()
                .setName(java.util.Objects.requireNonNull(name, "name"))
                .setPassword(java.util.Objects.requireNonNull(password, "password")).build(),
            Caller.Retry.REPEATABLE, timeout)
        .thenApply(r -> new io.etcdrecipes.client.AuthenticateResponse(KvProtos.header(r.getHeader()), r.getToken()));
  }

  @Override
  public CompletableFuture<AuthStatusResponse> authStatus() {
    return caller.call(AuthGrpc.getAuthStatusMethod(), AuthStatusRequest.getDefaultInstance(),
            Caller.Retry.REPEATABLE, timeout)
        .thenApply(r -> new AuthStatusResponse(KvProtos.header(r.getHeader()), r.getEnabled(), r.getAuthRevision()));
  }

  @Override
  public CompletableFuture<AuthResponse> userAdd(String name, String password) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(password, "password");
    return write(AuthGrpc.getUserAddMethod(), AuthUserAddRequest.newBuilder().setName(name).setPassword(password)
        .setOptions(UserAddOptions.newBuilder().setNoPassword(false)).build(), r -> r.getHeader());
  }

  @Override
  public CompletableFuture<AuthResponse> userAddNoPassword(String name) {
    Objects.requireNonNull(name, "name");
    return write(AuthGrpc.getUserAddMethod(), AuthUserAddRequest.newBuilder().setName(name)
        .setOptions(UserAddOptions.newBuilder().setNoPassword(true)).build(), r -> r.getHeader());
  }

  @Override
  public CompletableFuture<UserGetResponse> userGet(String name) {
    Objects.requireNonNull(name, "name");
    return caller.call(AuthGrpc.getUserGetMethod(), AuthUserGetRequest.newBuilder().setName(name).build(),
            Caller.Retry.REPEATABLE, timeout)
        .thenApply(r -> new UserGetResponse(KvProtos.header(r.getHeader()), r.getRolesList()));
  }

  @Override
  public CompletableFuture<UserListResponse> userList() {
    return caller.call(AuthGrpc.getUserListMethod(), AuthUserListRequest.getDefaultInstance(),
            Caller.Retry.REPEATABLE, timeout)
        .thenApply(r -> new UserListResponse(KvProtos.header(r.getHeader()), r.getUsersList()));
  }

  @Override
  public CompletableFuture<AuthResponse> userDelete(String name) {
    Objects.requireNonNull(name, "name");
    return write(AuthGrpc.getUserDeleteMethod(), AuthUserDeleteRequest.newBuilder().setName(name).build(),
        r -> r.getHeader());
  }

  @Override
  public CompletableFuture<AuthResponse> userChangePassword(String name, String password) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(password, "password");
    return write(AuthGrpc.getUserChangePasswordMethod(),
        AuthUserChangePasswordRequest.newBuilder().setName(name).setPassword(password).build(), r -> r.getHeader());
  }

  @Override
  public CompletableFuture<AuthResponse> userGrantRole(String user, String role) {
    Objects.requireNonNull(user, "user");
    Objects.requireNonNull(role, "role");
    return write(AuthGrpc.getUserGrantRoleMethod(),
        AuthUserGrantRoleRequest.newBuilder().setUser(user).setRole(role).build(), r -> r.getHeader());
  }

  @Override
  public CompletableFuture<AuthResponse> userRevokeRole(String user, String role) {
    Objects.requireNonNull(user, "user");
    Objects.requireNonNull(role, "role");
    return write(AuthGrpc.getUserRevokeRoleMethod(),
        AuthUserRevokeRoleRequest.newBuilder().setName(user).setRole(role).build(), r -> r.getHeader());
  }

  @Override
  public CompletableFuture<AuthResponse> roleAdd(String name) {
    Objects.requireNonNull(name, "name");
    return write(AuthGrpc.getRoleAddMethod(), AuthRoleAddRequest.newBuilder().setName(name).build(),
        r -> r.getHeader());
  }

  @Override
  public CompletableFuture<RoleGetResponse> roleGet(String name) {
    Objects.requireNonNull(name, "name");
    return caller.call(AuthGrpc.getRoleGetMethod(), AuthRoleGetRequest.newBuilder().setRole(name).build(),
            Caller.Retry.REPEATABLE, timeout)
        .thenApply(r -> {
          List<Permission> perms = new ArrayList<>(r.getPermCount());
          for (io.etcdrecipes.proto.authpb.Permission p : r.getPermList()) {
            int t = p.getPermTypeValue();
            Permission.Type type = t >= 0 && t < Permission.Type.values().length ? Permission.Type.values()[t]
                : Permission.Type.READ;
            perms.add(new Permission(type, Bytes.wrap(p.getKey()),
                p.getRangeEnd().isEmpty() ? null : Bytes.wrap(p.getRangeEnd())));
          }
          return new RoleGetResponse(KvProtos.header(r.getHeader()), perms);
        });
  }

  @Override
  public CompletableFuture<RoleListResponse> roleList() {
    return caller.call(AuthGrpc.getRoleListMethod(), AuthRoleListRequest.getDefaultInstance(),
            Caller.Retry.REPEATABLE, timeout)
        .thenApply(r -> new RoleListResponse(KvProtos.header(r.getHeader()), r.getRolesList()));
  }

  @Override
  public CompletableFuture<AuthResponse> roleDelete(String name) {
    Objects.requireNonNull(name, "name");
    return write(AuthGrpc.getRoleDeleteMethod(), AuthRoleDeleteRequest.newBuilder().setRole(name).build(),
        r -> r.getHeader());
  }

  @Override
  public CompletableFuture<AuthResponse> roleGrantPermission(String role, ByteSequence key, ByteSequence rangeEnd,
                                                             Permission.Type type) {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(type, "type");
    io.etcdrecipes.proto.authpb.Permission perm = io.etcdrecipes.proto.authpb.Permission.newBuilder()
        .setPermTypeValue(type.ordinal())
        .setKey(Bytes.unwrap(key))
        .setRangeEnd(rangeEnd == null ? ByteString.EMPTY : Bytes.unwrap(rangeEnd))
        .build();
    return write(AuthGrpc.getRoleGrantPermissionMethod(),
        AuthRoleGrantPermissionRequest.newBuilder().setName(role).setPerm(perm).build(), r -> r.getHeader());
  }

  @Override
  public CompletableFuture<AuthResponse> roleRevokePermission(String role, ByteSequence key, ByteSequence rangeEnd) {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(key, "key");
    return write(AuthGrpc.getRoleRevokePermissionMethod(),
        AuthRoleRevokePermissionRequest.newBuilder().setRole(role).setKey(Bytes.unwrap(key))
            .setRangeEnd(rangeEnd == null ? ByteString.EMPTY : Bytes.unwrap(rangeEnd)).build(),
        r -> r.getHeader());
  }

  @Override
  public Auth withTimeout(Duration timeout) {
    return new AuthImpl(caller, KvImpl.positive(timeout));
  }
}
