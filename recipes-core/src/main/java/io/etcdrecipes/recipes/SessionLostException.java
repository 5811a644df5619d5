package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdException;

/** Why a {@link Session} is {@link SessionState#LOST}; thrown by recipes that need a live session. */
public class SessionLostException extends EtcdException {

  private static final long serialVersionUID = 1L;

  /** What ended the session. */
  public enum Reason {
    /** The server reported the lease gone: it was revoked, or it expired there. */
    LEASE_GONE,
    /** The lease's TTL ran out here since the last successful renewal. */
    EXPIRED_LOCALLY,
    /** {@link Session#close()}: the lease was revoked (or the revoke was attempted). */
    CLOSED,
    /** {@link Session#orphan()}: keep-alive stopped; the lease expires after its TTL. */
    ORPHANED,
    /** The client was closed under the session. */
    CLIENT_CLOSED
  }

  private final long leaseId;
  private final Reason reason;

  public SessionLostException(long leaseId, Reason reason, String message, Throwable cause) {
    super(code(reason), "session " + Long.toHexString(leaseId) + " lost (" + reason + "): " + message, cause);
    this.leaseId = leaseId;
    this.reason = reason;
  }

  public long leaseId() {
    return leaseId;
  }

  public Reason reason() {
    return reason;
  }

  private static ErrorCode code(Reason reason) {
    return switch (reason) {
      case LEASE_GONE -> ErrorCode.NOT_FOUND;
      case EXPIRED_LOCALLY -> ErrorCode.DEADLINE_EXCEEDED;
      case CLOSED, ORPHANED, CLIENT_CLOSED -> ErrorCode.CANCELLED;
    };
  }
}
