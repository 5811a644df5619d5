package io.etcdrecipes.client;

/** The call was cancelled, by the caller or because its client was closed. */
public class CancelledException extends EtcdException {

  private static final long serialVersionUID = 1L;

  public CancelledException(ErrorCode code, String message, ServerError serverError, Throwable cause) {
    super(code, message, serverError, cause);
  }
}
