package io.etcdrecipes.client;

/** The auth token was rejected and could not be refreshed. */
public class InvalidAuthTokenException extends EtcdException {

  private static final long serialVersionUID = 1L;

  public InvalidAuthTokenException(ErrorCode code, String message, ServerError serverError, Throwable cause) {
    super(code, message, serverError, cause);
  }
}
