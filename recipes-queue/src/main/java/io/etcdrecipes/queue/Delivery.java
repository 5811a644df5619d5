package io.etcdrecipes.queue;

import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.internal.Blocking;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An item a {@link ReliableQueue} consumer holds: it stays in the queue, claimed under the consumer's session, until
 * {@link #ack()} removes it. If the consumer dies (its session ends) or {@link #release()}s it, the item is delivered
 * again, to whoever is first in line, with its delivery count raised. {@link #close()} releases an item not acked,
 * so {@code try (Delivery d = queue.dequeue(...)) { process(d); d.ack(); }} gives it back when processing throws.
 */
public final class Delivery implements AutoCloseable {

  private final Session session;
  private final QueueLayout layout;
  private final QueueItem item;
  private final long itemCreateRevision;
  private final int deliveryCount;
  private final Ownership claim;
  private final AtomicBoolean acked;

  Delivery(Session session, QueueLayout layout, QueueItem item, long itemCreateRevision, int deliveryCount,
           Ownership claim, AtomicBoolean acked) {
    this.session = session;
    this.layout = layout;
    this.item = item;
    this.itemCreateRevision = itemCreateRevision;
    this.deliveryCount = deliveryCount;
    this.claim = claim;
    this.acked = acked;
  }

  public QueueItem item() {
    return item;
  }

  /** How many times the item has been delivered, this time included (1 the first time). */
  public int deliveryCount() {
    return deliveryCount;
  }

  /** The claim: valid while this consumer holds the item; {@code lost()} completes when its session is lost. */
  public Ownership claim() {
    return claim;
  }

  /**
   * Removes the item for good (with its claim and count), guarded by the claim. Fails with
   * {@link OwnershipLostException} when the claim is gone (this consumer's session was lost) and the item is still
   * there: it is, or will be, delivered again, and nothing is removed. Succeeds when the item is gone already (an
   * earlier ack whose answer was lost, or the consumer it was delivered to next acked it). Once acked, the claim no
   * longer watches the session.
   */
  public CompletableFuture<Void> ackAsync() {
    KV kv = session.client().kv();
    return claim.commit(kv, Op.delete(item.key()), Op.delete(layout.claimOf(item.key())),
        Op.delete(layout.deliveriesOf(item.key()))).handle((r, e) -> {
          if (e == null) {
            return CompletableFuture.<Void>completedFuture(null);
          }
          Throwable cause = Blocking.unwrap(e);
          if (!(cause instanceof OwnershipLostException)) {
            return CompletableFuture.<Void>failedFuture(cause);
          }
          return kv.get(item.key()).<Void>thenApply(g -> {
            KeyValue now = g.first();
            if (now != null && now.createRevision() == itemCreateRevision) {
              throw (OwnershipLostException) cause; // still there: delivered again, not ours to remove
            }
            return null;
          });
        }).thenCompose(f -> f).thenRun(() -> {
          acked.set(true);
          claim.releaseAsync(); // detaches the claim from the session; sends nothing (see ReliableClaims)
        });
  }

  /** {@link #ackAsync()} bounded by the client's call timeout. */
  public void ack() throws InterruptedException {
    Queues.await(ackAsync(), session, "ack of " + item.key().toStringUtf8());
  }

  /** Gives the item back now, to be delivered again (its count stays raised); false if the claim was lost already. */
  public boolean release() {
    return claim.release();
  }

  public CompletableFuture<Boolean> releaseAsync() {
    return claim.releaseAsync();
  }

  /** Releases the item unless it was acked; never throws. */
  @Override
  public void close() {
    if (!acked.get()) {
      claim.close();
    }
  }

  @Override
  public String toString() {
    return "Delivery{" + item.key().toStringUtf8() + ", #" + deliveryCount + (acked.get() ? ", acked" : "") + "}";
  }
}
