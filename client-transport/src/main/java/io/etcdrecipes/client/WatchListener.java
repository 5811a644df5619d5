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
   */
  default void onError(EtcdException error) {}

  /** The watch was closed by its owner. Like {@link #onError}, called before {@link Watcher#done()} completes. */
  default void onCompleted() {}
}
