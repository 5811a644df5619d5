package io.etcdrecipes.client.ordering;

import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.EtcdException;

/** A read could only be served by members whose state is older than a response already seen. */
public class OrderViolationException extends EtcdException {

  private static final long serialVersionUID = 1L;

  private final long previousRevision;
  private final long staleRevision;

  public OrderViolationException(String message, long previousRevision, long staleRevision) {
    super(ErrorCode.FAILED_PRECONDITION, message);
    this.previousRevision = previousRevision;
    this.staleRevision = staleRevision;
  }

  public long previousRevision() {
    return previousRevision;
  }

  public long staleRevision() {
    return staleRevision;
  }
}
