package io.etcdrecipes.client;

/** The authenticated user lacks the permission for this key or operation. */
public class PermissionDeniedException extends EtcdException {

  private static final long serialVersionUID = 1L;

  public PermissionDeniedException(ErrorCode code, String message, ServerError serverError, Throwable cause) {
    super(code, message, serverError, cause);
  }
}
