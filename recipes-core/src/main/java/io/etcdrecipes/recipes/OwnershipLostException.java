package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdException;

/**
 * A lock, permit or leadership is no longer held: nothing may be done in its name any more. Thrown by guarded
 * helpers of an {@link Ownership} (and by waits whose own key vanished), delivered by {@link Ownership#lost()}.
 */
public class OwnershipLostException extends EtcdException {

  private static final long serialVersionUID = 1L;

  /** Why it was lost. */
  public enum Reason {
    /** The session's lease is gone, or its TTL ran out here ({@link SessionState#LOST}). */
    SESSION_LOST,
    /** The session is {@link SessionState#SUSPENDED} and the recipe's policy is {@link SessionPolicy#SUSPENDED_IS_LOST}. */
    SESSION_SUSPENDED,
    /** The key is gone or was re-created (a guarded write was rejected, or a read found it missing). */
    KEY_GONE,
    /** Its holder released it; nothing may be done in its name any more. */
    RELEASED
  }

  private final transient ByteSequence key;
  private final long fencingToken;
  private final Reason reason;

  public OwnershipLostException(ByteSequence key, long fencingToken, Reason reason, String message, Throwable cause) {
    super(ErrorCode.FAILED_PRECONDITION, "ownership of " + (key == null ? "?" : key.toStringUtf8()) + " (token "
        + fencingToken + ") lost (" + reason + "): " + message, cause);
    this.key = key;
    this.fencingToken = fencingToken;
    this.reason = reason;
  }

  public ByteSequence key() {
    return key;
  }

  public long fencingToken() {
    return fencingToken;
  }

  public Reason reason() {
    return reason;
  }
}
