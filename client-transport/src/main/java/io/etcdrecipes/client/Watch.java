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

  /** Asks every member stream for a progress notification to all watchers. */
  CompletableFuture<Void> requestProgress();
}
