package io.etcdrecipes.client;

/** The request is larger than the server (--max-request-bytes) or the client accepts. Nothing was written. */
public class RequestTooLargeException extends EtcdException {

  private static final long serialVersionUID = 1L;

  public RequestTooLargeException(ErrorCode code, String message, ServerError serverError, Throwable cause) {
    super(code, message, serverError, cause);
  }
}
