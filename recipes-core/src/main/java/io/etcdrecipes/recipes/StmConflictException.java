package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdException;

/** An {@link Stm} transaction conflicted on every one of its allowed attempts; nothing was committed. */
public class StmConflictException extends EtcdException {

  private static final long serialVersionUID = 1L;

  private final int attempts;

  public StmConflictException(int attempts) {
    super(ErrorCode.ABORTED, "STM transaction conflicted " + attempts + " times; giving up (maxAttempts)");
    this.attempts = attempts;
  }

  public int attempts() {
    return attempts;
  }
}
