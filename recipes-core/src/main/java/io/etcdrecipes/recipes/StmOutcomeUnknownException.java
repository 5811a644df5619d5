package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdException;

/**
 * The commit of an {@link Stm} transaction was sent and its outcome is unknown: the run's deadline passed, the
 * thread was interrupted (the interrupt flag stays set) or the run was cancelled while the commit was in flight, or
 * the connection failed under it. It may or may not have been applied — also a little later: etcd may apply a
 * proposal after its request's deadline. Do not decide with a separate read whether to run it again (the commit
 * can land after that read): make the function itself idempotent, e.g. write a marker key with a unique value and
 * read it with {@code tx.get} inside the function, so the marker is in the transaction's compares and a re-run after
 * an applied commit does nothing (docs/recipes-core.md). Every other failure of {@code Stm.run} means nothing was
 * committed.
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
