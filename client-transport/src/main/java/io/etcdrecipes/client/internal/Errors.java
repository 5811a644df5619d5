package io.etcdrecipes.client.internal;

import io.etcdrecipes.client.AuthFailedException;
import io.etcdrecipes.client.AuthNotEnabledException;
import io.etcdrecipes.client.CancelledException;
import io.etcdrecipes.client.ClosedClientException;
import io.etcdrecipes.client.CompactedException;
import io.etcdrecipes.client.DeadlineExceededException;
import io.etcdrecipes.client.EmptyKeyException;
import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.FutureRevisionException;
import io.etcdrecipes.client.InvalidAuthTokenException;
import io.etcdrecipes.client.LeaseNotFoundException;
import io.etcdrecipes.client.NoLeaderException;
import io.etcdrecipes.client.PermissionDeniedException;
import io.etcdrecipes.client.RequestTooLargeException;
import io.etcdrecipes.client.ServerError;
import io.etcdrecipes.client.UnavailableException;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;

import java.nio.channels.ClosedChannelException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Turns gRPC failures into the typed {@link EtcdException}s of the public API. */
public final class Errors {

  private Errors() {}

  /** Unwraps future wrappers and maps anything that is not yet an {@link EtcdException}. */
  public static EtcdException toEtcdException(Throwable t) {
    Throwable cause = unwrap(t);
    if (cause instanceof EtcdException) {
      return (EtcdException) cause;
    }
    if (cause instanceof StatusRuntimeException) {
      return fromStatus(((StatusRuntimeException) cause).getStatus(), cause);
    }
    if (cause instanceof StatusException) {
      return fromStatus(((StatusException) cause).getStatus(), cause);
    }
    if (cause instanceof CancellationException) {
      return new CancelledException(ErrorCode.CANCELLED, "call cancelled", null, cause);
    }
    return new EtcdException(ErrorCode.UNKNOWN, String.valueOf(cause), cause);
  }

  public static Throwable unwrap(Throwable t) {
    Throwable c = t;
    while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
      c = c.getCause();
    }
    return c;
  }

  public static ErrorCode code(Status.Code code) {
    return ErrorCode.values()[code.value()];
  }

  /**
   * A status as our retry and failover decisions should see it. grpc-netty reports a connection that closed under a
   * call it was starting (a member killed, a connection reset) as {@code UNKNOWN: channel closed}, because a bare
   * {@link ClosedChannelException} does not say why (grpc-java issue 10120); for us it is a transport failure like
   * any other, so it becomes {@code UNAVAILABLE} (same description and cause). Everything else is returned as is.
   */
  public static Status transportStatus(Status status) {
    if (status.getCode() != Status.Code.UNKNOWN) {
      return status;
    }
    for (Throwable c = status.getCause(); c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof ClosedChannelException) {
        return Status.UNAVAILABLE.withDescription(status.getDescription()).withCause(status.getCause());
      }
    }
    return status;
  }

  public static EtcdException fromStatus(Status status, Throwable cause) {
    status = transportStatus(status);
    String description = status.getDescription();
    ErrorCode code = code(status.getCode());
    ServerError serverError = ServerError.forMessage(description);
    String message = description != null ? description : status.getCode().name();
    if (status.getCause() != null && serverError == null) {
      // transport failures ("io exception", "ssl exception") say why only in their cause
      Throwable root = status.getCause();
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      message = message + ": " + root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + root.getMessage());
    }
    if (serverError != null) {
      switch (serverError) {
        case COMPACTED:
          return new CompactedException(message, 0, cause);
        case FUTURE_REVISION:
          return new FutureRevisionException(code, message, serverError, cause);
        case NO_LEADER:
          return new NoLeaderException(code, message, serverError, cause);
        case LEASE_NOT_FOUND:
          return new LeaseNotFoundException(code, message, serverError, cause);
        case EMPTY_KEY:
          return new EmptyKeyException(code, message, serverError, cause);
        case PERMISSION_DENIED:
          return new PermissionDeniedException(code, message, serverError, cause);
        case AUTH_FAILED:
          return new AuthFailedException(code, message, serverError, cause);
        case AUTH_NOT_ENABLED:
          return new AuthNotEnabledException(code, message, serverError, cause);
        case INVALID_AUTH_TOKEN:
          return new InvalidAuthTokenException(code, message, serverError, cause);
        case REQUEST_TOO_LARGE:
          return new RequestTooLargeException(code, message, serverError, cause);
        default:
          return new EtcdException(code, message, serverError, cause);
      }
    }
    switch (status.getCode()) {
      case DEADLINE_EXCEEDED:
        return new DeadlineExceededException(code, "deadline exceeded: " + message, null, cause);
      case CANCELLED:
        return new CancelledException(code, message, null, cause);
      case UNAVAILABLE:
        return new UnavailableException(code, message, null, cause);
      case RESOURCE_EXHAUSTED:
        if (description != null && description.contains("larger than max")) {
          return new RequestTooLargeException(code, message, null, cause);
        }
        return new EtcdException(code, message, null, cause);
      default:
        return new EtcdException(code, message, null, cause);
    }
  }

  public static ClosedClientException closed() {
    return new ClosedClientException(ErrorCode.CANCELLED, "the etcd client is closed", null, null);
  }
}
