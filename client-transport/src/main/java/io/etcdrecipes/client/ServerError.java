package io.etcdrecipes.client;

import java.util.HashMap;
import java.util.Map;

/**
 * Every error the etcd server defines, with the code and the exact message it sends. A failed call is
 * matched against this table by its message, as etcd's Go client does (rpctypes), so callers can branch on
 * {@link EtcdException#serverError()} for errors that have no exception class of their own.
 */
public enum ServerError {
  EMPTY_KEY(ErrorCode.INVALID_ARGUMENT, "etcdserver: key is not provided"),
  KEY_NOT_FOUND(ErrorCode.INVALID_ARGUMENT, "etcdserver: key not found"),
  VALUE_PROVIDED(ErrorCode.INVALID_ARGUMENT, "etcdserver: value is provided"),
  LEASE_PROVIDED(ErrorCode.INVALID_ARGUMENT, "etcdserver: lease is provided"),
  TOO_MANY_OPS(ErrorCode.INVALID_ARGUMENT, "etcdserver: too many operations in txn request"),
  DUPLICATE_KEY(ErrorCode.INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request"),
  COMPACTED(ErrorCode.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted"),
  FUTURE_REVISION(ErrorCode.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision"),
  NO_SPACE(ErrorCode.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded"),

  LEASE_NOT_FOUND(ErrorCode.NOT_FOUND, "etcdserver: requested lease not found"),
  LEASE_EXISTS(ErrorCode.FAILED_PRECONDITION, "etcdserver: lease already exists"),
  LEASE_TTL_TOO_LARGE(ErrorCode.OUT_OF_RANGE, "etcdserver: too large lease TTL"),

  WATCH_CANCELED(ErrorCode.CANCELLED, "etcdserver: watch canceled"),

  MEMBER_EXISTS(ErrorCode.FAILED_PRECONDITION, "etcdserver: member ID already exist"),
  PEER_URL_EXISTS(ErrorCode.FAILED_PRECONDITION, "etcdserver: Peer URLs already exists"),
  MEMBER_NOT_ENOUGH_STARTED(ErrorCode.FAILED_PRECONDITION,
      "etcdserver: re-configuration failed due to not enough started members"),
  MEMBER_BAD_URLS(ErrorCode.INVALID_ARGUMENT, "etcdserver: given member URLs are invalid"),
  MEMBER_NOT_FOUND(ErrorCode.NOT_FOUND, "etcdserver: member not found"),
  MEMBER_NOT_LEARNER(ErrorCode.FAILED_PRECONDITION, "etcdserver: can only promote a learner member"),
  LEARNER_NOT_READY(ErrorCode.FAILED_PRECONDITION,
      "etcdserver: can only promote a learner member which is in sync with leader"),
  TOO_MANY_LEARNERS(ErrorCode.FAILED_PRECONDITION, "etcdserver: too many learner members in cluster"),

  REQUEST_TOO_LARGE(ErrorCode.INVALID_ARGUMENT, "etcdserver: request is too large"),
  TOO_MANY_REQUESTS(ErrorCode.RESOURCE_EXHAUSTED, "etcdserver: too many requests"),

  ROOT_USER_NOT_EXIST(ErrorCode.FAILED_PRECONDITION, "etcdserver: root user does not exist"),
  ROOT_ROLE_NOT_EXIST(ErrorCode.FAILED_PRECONDITION, "etcdserver: root user does not have root role"),
  USER_ALREADY_EXISTS(ErrorCode.FAILED_PRECONDITION, "etcdserver: user name already exists"),
  USER_EMPTY(ErrorCode.INVALID_ARGUMENT, "etcdserver: user name is empty"),
  USER_NOT_FOUND(ErrorCode.FAILED_PRECONDITION, "etcdserver: user name not found"),
  ROLE_ALREADY_EXISTS(ErrorCode.FAILED_PRECONDITION, "etcdserver: role name already exists"),
  ROLE_NOT_FOUND(ErrorCode.FAILED_PRECONDITION, "etcdserver: role name not found"),
  ROLE_EMPTY(ErrorCode.INVALID_ARGUMENT, "etcdserver: role name is empty"),
  AUTH_FAILED(ErrorCode.INVALID_ARGUMENT, "etcdserver: authentication failed, invalid user ID or password"),
  PERMISSION_DENIED(ErrorCode.PERMISSION_DENIED, "etcdserver: permission denied"),
  ROLE_NOT_GRANTED(ErrorCode.FAILED_PRECONDITION, "etcdserver: role is not granted to the user"),
  PERMISSION_NOT_GRANTED(ErrorCode.FAILED_PRECONDITION, "etcdserver: permission is not granted to the role"),
  AUTH_NOT_ENABLED(ErrorCode.FAILED_PRECONDITION, "etcdserver: authentication is not enabled"),
  INVALID_AUTH_TOKEN(ErrorCode.UNAUTHENTICATED, "etcdserver: invalid auth token"),
  INVALID_AUTH_MANAGEMENT(ErrorCode.INVALID_ARGUMENT, "etcdserver: invalid auth management"),
  AUTH_OLD_REVISION(ErrorCode.INVALID_ARGUMENT, "etcdserver: revision of auth store is old"),

  NO_LEADER(ErrorCode.UNAVAILABLE, "etcdserver: no leader"),
  NOT_LEADER(ErrorCode.FAILED_PRECONDITION, "etcdserver: not leader"),
  LEADER_CHANGED(ErrorCode.UNAVAILABLE, "etcdserver: leader changed"),
  NOT_CAPABLE(ErrorCode.UNAVAILABLE, "etcdserver: not capable"),
  STOPPED(ErrorCode.UNAVAILABLE, "etcdserver: server stopped"),
  TIMEOUT(ErrorCode.UNAVAILABLE, "etcdserver: request timed out"),
  TIMEOUT_DUE_TO_LEADER_FAIL(ErrorCode.UNAVAILABLE,
      "etcdserver: request timed out, possibly due to previous leader failure"),
  TIMEOUT_DUE_TO_CONNECTION_LOST(ErrorCode.UNAVAILABLE,
      "etcdserver: request timed out, possibly due to connection lost"),
  TIMEOUT_WAIT_APPLIED_INDEX(ErrorCode.UNAVAILABLE,
      "etcdserver: request timed out, waiting for the applied index took too long"),
  UNHEALTHY(ErrorCode.UNAVAILABLE, "etcdserver: unhealthy cluster"),
  CORRUPT(ErrorCode.DATA_LOSS, "etcdserver: corrupt cluster"),
  NOT_SUPPORTED_FOR_LEARNER(ErrorCode.UNAVAILABLE, "etcdserver: rpc not supported for learner"),
  BAD_LEADER_TRANSFEREE(ErrorCode.FAILED_PRECONDITION, "etcdserver: bad leader transferee");

  private static final Map<String, ServerError> BY_MESSAGE = new HashMap<>();

  static {
    for (ServerError e : values()) {
      BY_MESSAGE.put(e.message, e);
    }
  }

  private final ErrorCode code;
  private final String message;

  ServerError(ErrorCode code, String message) {
    this.code = code;
    this.message = message;
  }

  public ErrorCode code() {
    return code;
  }

  /** The exact message the server sends. */
  public String message() {
    return message;
  }

  /** The server error with exactly this message, or {@code null}. */
  public static ServerError forMessage(String message) {
    return message == null ? null : BY_MESSAGE.get(message);
  }
}
