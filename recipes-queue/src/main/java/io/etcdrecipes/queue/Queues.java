package io.etcdrecipes.queue;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.DeadlineExceededException;
import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.internal.Blocking;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/** What the queues of this package share: bounded waits for single RPCs, sizes, values. */
final class Queues {

  private Queues() {}

  static <T> T await(CompletableFuture<T> f, Session session, String what) throws InterruptedException {
    try {
      return Blocking.await(f, session.client().config().callTimeout().plusSeconds(1));
    } catch (TimeoutException e) {
      throw new DeadlineExceededException(ErrorCode.DEADLINE_EXCEEDED, what + ": no answer in time", null, e);
    }
  }

  static long size(Session session, QueueLayout layout) throws InterruptedException {
    return await(session.client().kv().get(layout.itemsFrom,
        GetOption.builder().range(layout.itemsTo).countOnly().build()).thenApply(r -> r.count()), session,
        "size of " + layout.name);
  }

  static ByteSequence utf8(String value) {
    if (value == null) {
      throw new IllegalArgumentException("value must not be null");
    }
    return ByteSequence.of(value);
  }
}
