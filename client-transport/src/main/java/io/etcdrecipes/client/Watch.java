package io.etcdrecipes.client;

import java.util.concurrent.CompletableFuture;

/**
 * Watches: ordered change streams of keys and ranges. All watches of a client share one gRPC stream
 * (one per distinct request metadata, i.e. with and without require-leader). After any reconnect every
 * watch resumes where it stopped, without gaps or duplicates.
 */
public interface Watch {

  Watcher watch(ByteSequence key, WatchOption option, WatchListener listener);

  default Watcher watch(ByteSequence key, WatchListener listener) {
    return watch(key, WatchOption.DEFAULT, listener);
  }

  /**
   * Asks the server for a progress notification to every watch (a {@link WatchResponse} without events).
   * On etcd before 3.4.24 / 3.5.8 its revision may be ahead of events still being replayed to a watch that
   * started in the past; such a notification never makes the client skip them.
   */
  CompletableFuture<Void> requestProgress();
}
