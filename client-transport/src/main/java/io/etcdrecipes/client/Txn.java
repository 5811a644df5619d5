package io.etcdrecipes.client;

import java.util.concurrent.CompletableFuture;

/**
 * A transaction being built: {@code when(compares).then(ops).orElse(ops).commit()}. If every compare holds,
 * the {@code then} operations run, otherwise the {@code orElse} ones; all at one revision, atomically.
 * As in Go, each part may be given once and in this order; a violation is an {@link IllegalStateException}.
 * Not thread-safe; build it in one thread.
 */
public interface Txn {

  Txn when(Compare... compares);

  Txn then(Op... ops);

  Txn orElse(Op... ops);

  CompletableFuture<TxnResponse> commit();
}
