package io.etcdrecipes.client;

/** The client was closed before or while the call ran. */
public class ClosedClientException extends CancelledException {

  private static final long serialVersionUID = 1L;

  public ClosedClientException(ErrorCode code, String message, ServerError serverError, Throwable cause) {
    super(code, message, serverError, cause);
  }
}
