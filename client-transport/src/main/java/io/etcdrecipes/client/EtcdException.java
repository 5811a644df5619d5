package io.etcdrecipes.client;

/**
 * The root of every error this library reports. It carries the call's {@link ErrorCode} and, when the
 * server sent one of its own errors, which one ({@link #serverError()}). Callers branch on the typed
 * subclasses ({@link CompactedException}, {@link NoLeaderException}, ...) or on these two.
 */
public class EtcdException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final transient ServerError serverError;

  public EtcdException(ErrorCode code, String message) {
    this(code, message, null, null);
  }

  public EtcdException(ErrorCode code, String message, Throwable cause) {
    this(code, message, null, cause);
  }

  public EtcdException(ErrorCode code, String message, ServerError serverError, Throwable cause) {
    super(message, cause);
    this.code = code;
    this.serverError = serverError;
  }

  public ErrorCode code() {
    return code;
  }

  /** The server's error when the server sent one this library knows, else {@code null}. */
  public ServerError serverError() {
    return serverError;
  }
}
