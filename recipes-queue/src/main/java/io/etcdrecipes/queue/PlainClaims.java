package io.etcdrecipes.queue;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.recipes.SequentialKey;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Go's way of taking an item: delete it, guarded by its mod revision (Go's {@code deleteRevKey}). At most once: an
 * item whose delete was applied but whose answer was lost is gone.
 */
final class PlainClaims implements ClaimRule<QueueItem> {

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
   * queue ran empty) at the end of its queue.
   */
  @Override
  public CompletableFuture<Void> undo(QueueItem item) {
    return kv.txn().when(Compare.version(item.key()).equal(0)).then(Op.put(item.key(), item.value())).commit()
        .thenCompose(r -> r.succeeded() ? CompletableFuture.completedFuture(null)
            : SequentialKey.create(kv, layout.parentOf(item), item.value(), 0).thenApply(k -> null));
  }
}
