package io.etcdrecipes.client;

/** An auth operation that needs authentication enabled was called while it is disabled. */
public class AuthNotEnabledException extends EtcdException {

  private static final long serialVersionUID = 1L;

  public AuthNotEnabledException(ErrorCode code, String message, ServerError serverError, Throwable cause) {
    super(code, message, serverError, cause);
  }
}
