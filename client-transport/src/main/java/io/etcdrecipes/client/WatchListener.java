package io.etcdrecipes.client;

/**
 * Receives one watch's responses, on the client's callback executor (never a gRPC thread), one at a time
 * and in revision order.
 */
public interface WatchListener {

  void onNext(WatchResponse response);

  /**
   * The watch ended with an error and delivers nothing more: its start revision was compacted
   * ({@link CompactedException} with the compact revision), the server cancelled it, or the client closed.
   *
   * <p>The default (what a lambda listener gets) does not drop the error silently: it logs it as a warning
   * (a closed client only at debug level), and {@link Watcher#done()} completes with it. A listener that must act
   * on compaction (read again, then watch from the compact revision) overrides this.
   */
  default void onError(EtcdException error) {
    org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(WatchListener.class);
    if (error instanceof ClosedClientException) {
      log.debug("watch ended: {}", error.getMessage());
    } else {
      log.warn("watch ended with an error its listener ({}) does not handle: {}", getClass().getName(), error.toString());
    }
  }

  /** The watch was closed by its owner. Like {@link #onError}, called before {@link Watcher#done()} completes. */
  default void onCompleted() {}
}
