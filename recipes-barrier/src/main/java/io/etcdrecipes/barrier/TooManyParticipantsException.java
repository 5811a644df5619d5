package io.etcdrecipes.barrier;

import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdException;

/** More participants than a {@link DoubleBarrier}'s {@code count} tried to enter (Go's {@code ErrTooManyClients}). */
public class TooManyParticipantsException extends EtcdException {

  private static final long serialVersionUID = 1L;

  public TooManyParticipantsException(String message) {
    super(ErrorCode.FAILED_PRECONDITION, message);
  }
}
