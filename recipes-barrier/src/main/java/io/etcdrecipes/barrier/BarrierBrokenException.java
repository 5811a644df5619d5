package io.etcdrecipes.barrier;

import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdException;

/**
 * A {@link DoubleBarrier}'s enter cannot complete: a participant that had entered left (its session ended, or it gave
 * up) before all {@code count} were in. The others are not left waiting for it: they fail with this, and their own
 * waiter keys are deleted. Enter again to start over.
 */
public class BarrierBrokenException extends EtcdException {

  private static final long serialVersionUID = 1L;

  public BarrierBrokenException(String message) {
    super(ErrorCode.ABORTED, message);
  }
}
