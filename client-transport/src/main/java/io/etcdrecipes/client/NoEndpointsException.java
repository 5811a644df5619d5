package io.etcdrecipes.client;

/** No endpoint was configured, or none could be reached. */
public class NoEndpointsException extends EtcdException {

  private static final long serialVersionUID = 1L;

  public NoEndpointsException(ErrorCode code, String message, ServerError serverError, Throwable cause) {
    super(code, message, serverError, cause);
  }
}
