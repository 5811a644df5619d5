package io.etcdrecipes.client;

/** No member could serve the call (connection refused, member stopped, no quorum...). */
public class UnavailableException extends EtcdException {

  private static final long serialVersionUID = 1L;

  public UnavailableException(ErrorCode code, String message, ServerError serverError, Throwable cause) {
    super(code, message, serverError, cause);
  }
}
