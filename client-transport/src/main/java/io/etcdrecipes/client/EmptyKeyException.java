package io.etcdrecipes.client;

/** A key was empty where etcd needs one. Raised by the client before anything is sent, or by the server. */
public class EmptyKeyException extends EtcdException {

  private static final long serialVersionUID = 1L;

  public EmptyKeyException(ErrorCode code, String message, ServerError serverError, Throwable cause) {
    super(code, message, serverError, cause);
  }
}
