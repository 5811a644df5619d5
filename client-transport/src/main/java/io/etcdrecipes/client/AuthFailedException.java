package io.etcdrecipes.client;

/** Authentication failed: wrong user name or password. */
public class AuthFailedException extends EtcdException {

  private static final long serialVersionUID = 1L;

  public AuthFailedException(ErrorCode code, String message, ServerError serverError, Throwable cause) {
    super(code, message, serverError, cause);
  }
}
