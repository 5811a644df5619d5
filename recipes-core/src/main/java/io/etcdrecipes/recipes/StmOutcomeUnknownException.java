package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdException;

/**
 * The commit of an {@link Stm} transaction was sent and its outcome is unknown: the run's deadline passed, the
 * thread was interrupted (the interrupt flag stays set) or the run was cancelled while the commit was in flight, or
 * the connection failed under it. It may or may not have been applied. Find out by reading something the
 * transaction wrote (a marker key with a unique value is the usual idiom, see docs/recipes-core.md) before running it
 * again. Every other failure of {@code Stm.run} means nothing was committed.
 */
public class StmOutcomeUnknownException extends EtcdException {

  private static final long serialVersionUID = 1L;

  private final int attempt;

  public StmOutcomeUnknownException(int attempt, String message, Throwable cause) {
    super(cause instanceof EtcdException e ? e.code() : ErrorCode.UNKNOWN,
        "STM commit of attempt " + attempt + " may or may not have been applied: " + message, cause);
    this.attempt = attempt;
  }

  /** The attempt whose commit was in flight. */
  public int attempt() {
    return attempt;
  }
}
