package io.etcdrecipes.client;

import java.util.concurrent.CompletableFuture;

/** A running watch. {@link #close()} cancels it on the server. */
public interface Watcher extends AutoCloseable {

  /** Completes when the server has created the watch (the first time; reconnects resume silently). */
  CompletableFuture<Void> created();

  /** Completes when the watch has ended: normally when closed, exceptionally on error. */
  CompletableFuture<Void> done();

  /** The revision the watch resumes from after a reconnect: the last delivered event's + 1. */
  long nextRevision();

  @Override
  void close();
}
