package io.etcdrecipes.queue;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.ClosedClientException;
import io.etcdrecipes.recipes.SequentialKey;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.Outcomes;
import io.etcdrecipes.recipes.internal.SharedExecutors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Go's way of taking an item: delete it, guarded by its mod revision (Go's {@code deleteRevKey}). At most once: an
 * item whose delete was applied but whose answer was lost is gone.
 */
final class PlainClaims implements ClaimRule<QueueItem> {

  private static final Logger log = LoggerFactory.getLogger(PlainClaims.class);
  private static final long FIRST_RETRY_MILLIS = 100;
  private static final long MAX_RETRY_MILLIS = 2_000;

  private final QueueLayout layout;
  private final KV kv;

  PlainClaims(QueueLayout layout, KV kv) {
    this.layout = layout;
    this.kv = kv;
  }

  @Override
  public List<Op> extraReads() {
    return List.of();
  }

  @Override
  public Take<QueueItem> first(List<KeyValue> items, List<GetResponse> extras) {
    if (items.isEmpty()) {
      return null;
    }
    KeyValue kv0 = items.get(0);
    QueueItem item = QueueItem.of(layout.prefix.size(), kv0.key(), kv0.value());
    return new Take<>(List.of(Compare.modRevision(kv0.key()).equal(kv0.modRevision())),
        List.of(Op.delete(kv0.key())), r -> item, null);
  }

  @Override
  public ByteSequence freedRange() {
    return null;
  }

  /**
   * Puts a taken item back where it was if its key is still free; else (a producer reused the number after the
   * queue ran empty) at the end of its queue. A put-back whose outcome is unknown is tried again (backoff 100 ms
   * doubling to 2 s, while the client is open): finding our value at the key then means the earlier try applied.
   * An item that cannot be put back is logged at ERROR with its value's size and key; the future then fails.
   */
  @Override
  public CompletableFuture<Void> undo(QueueItem item) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    putBack(item, done, FIRST_RETRY_MILLIS, false);
    return done;
  }

  private void putBack(QueueItem item, CompletableFuture<Void> done, long backoff, boolean uncertain) {
    kv.txn().when(Compare.version(item.key()).equal(0)).then(Op.put(item.key(), item.value()))
        .orElse(Op.get(item.key())).commit().whenComplete((r, t) -> {
          if (t == null) {
            KeyValue there = r.succeeded() ? null : r.getResponse(0).first();
            if (r.succeeded() || (uncertain && there != null && there.value().equals(item.value()))) {
              done.complete(null);
            } else {
              append(item, done, backoff);
            }
          } else if (retryable(t)) {
            retry(() -> putBack(item, done, Math.min(MAX_RETRY_MILLIS, backoff * 2), true), backoff, item, t, done);
          } else {
            lost(item, t, done);
          }
        });
  }

  /** At the end of the item's queue. Its outcome unknown, it is not tried again: a second copy would be delivered. */
  private void append(QueueItem item, CompletableFuture<Void> done, long backoff) {
    SequentialKey.create(kv, layout.parentOf(item), item.value(), 0).whenComplete((k, t) -> {
      if (t == null) {
        done.complete(null);
      } else if (!Outcomes.mayHaveApplied(t)) {
        lost(item, t, done);
      } else {
        log.error("{}: a taken item was put back at the end of its queue with an unknown outcome ({}); it is there "
            + "once or lost", item.key().toStringUtf8(), Blocking.unwrap(t).toString());
        done.completeExceptionally(Blocking.unwrap(t));
      }
    });
  }

  private static boolean retryable(Throwable t) {
    return Outcomes.mayHaveApplied(t) && !(Blocking.unwrap(t) instanceof ClosedClientException);
  }

  private static void retry(Runnable again, long backoff, QueueItem item, Throwable t, CompletableFuture<Void> done) {
    log.info("{}: putting a taken item back failed ({}); again in {} ms", item.key().toStringUtf8(),
        Blocking.unwrap(t).toString(), backoff);
    try {
      SharedExecutors.timer().schedule(again, backoff, TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      lost(item, e, done);
    }
  }

  private static void lost(QueueItem item, Throwable t, CompletableFuture<Void> done) {
    log.error("{}: a taken item ({} bytes) could not be put back and is lost ({})", item.key().toStringUtf8(),
        item.value().size(), Blocking.unwrap(t).toString());
    done.completeExceptionally(Blocking.unwrap(t));
  }
}
