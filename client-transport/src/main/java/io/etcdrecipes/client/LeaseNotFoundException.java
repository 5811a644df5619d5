package io.etcdrecipes.client;

/** The lease does not exist: it expired, was revoked, or never existed. */
public class LeaseNotFoundException extends EtcdException {

  private static final long serialVersionUID = 1L;

  public LeaseNotFoundException(ErrorCode code, String message, ServerError serverError, Throwable cause) {
    super(code, message, serverError, cause);
  }
}
