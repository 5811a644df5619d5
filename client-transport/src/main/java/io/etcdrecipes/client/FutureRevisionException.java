package io.etcdrecipes.client;

/** The requested revision is newer than the store's current revision. */
public class FutureRevisionException extends EtcdException {

  private static final long serialVersionUID = 1L;

  public FutureRevisionException(ErrorCode code, String message, ServerError serverError, Throwable cause) {
    super(code, message, serverError, cause);
  }
}
