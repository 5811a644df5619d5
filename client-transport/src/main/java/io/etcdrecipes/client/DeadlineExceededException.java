package io.etcdrecipes.client;

/** The call's deadline passed before it completed. A write may or may not have been applied. */
public class DeadlineExceededException extends EtcdException {

  private static final long serialVersionUID = 1L;

  public DeadlineExceededException(ErrorCode code, String message, ServerError serverError, Throwable cause) {
    super(code, message, serverError, cause);
  }
}
