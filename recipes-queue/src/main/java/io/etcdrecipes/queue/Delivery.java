package io.etcdrecipes.queue;

import io.etcdrecipes.client.Op;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Session;

import java.util.concurrent.CompletableFuture;

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
  private final int deliveryCount;
  private final Ownership claim;
  private volatile boolean acked;

  Delivery(Session session, QueueLayout layout, QueueItem item, int deliveryCount, Ownership claim) {
    this.session = session;
    this.layout = layout;
    this.item = item;
    this.deliveryCount = deliveryCount;
    this.claim = claim;
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
   * {@link OwnershipLostException} when the claim is gone (this consumer's session was lost): the item is, or will
   * be, delivered again, and nothing is removed.
   */
  public CompletableFuture<Void> ackAsync() {
    return claim.commit(session.client().kv(), Op.delete(item.key()), Op.delete(layout.claimOf(item.key())),
        Op.delete(layout.deliveriesOf(item.key()))).thenAccept(r -> acked = true);
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
    if (!acked) {
      claim.close();
    }
  }

  @Override
  public String toString() {
    return "Delivery{" + item.key().toStringUtf8() + ", #" + deliveryCount + (acked ? ", acked" : "") + "}";
  }
}
