package io.etcdrecipes.client;

/**
 * The requested revision has been compacted away. {@link #compactRevision()} is the oldest revision that
 * can still be read or watched from, when the server said so (watches), else 0.
 */
public class CompactedException extends EtcdException {

  private static final long serialVersionUID = 1L;

  private final long compactRevision;

  public CompactedException(String message, long compactRevision, Throwable cause) {
    super(ErrorCode.OUT_OF_RANGE, message, ServerError.COMPACTED, cause);
    this.compactRevision = compactRevision;
  }

  public long compactRevision() {
    return compactRevision;
  }
}
