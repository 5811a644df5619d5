package io.etcdrecipes.client;

/** The member has no raft leader (it may be partitioned), and the request needs one. */
public class NoLeaderException extends EtcdException {

  private static final long serialVersionUID = 1L;

  public NoLeaderException(ErrorCode code, String message, ServerError serverError, Throwable cause) {
    super(code, message, serverError, cause);
  }
}
