package io.etcdrecipes.queue;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SequentialKey;
import io.etcdrecipes.recipes.internal.Names;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * A FIFO queue with <b>at-least-once</b> delivery: a dequeue claims the oldest unclaimed item under the consumer's
 * session instead of deleting it; {@link Delivery#ack()} removes it. An item whose consumer's session ends before the
 * ack (the process died, or was cut off past its TTL) becomes visible again and is delivered again with its
 * delivery count raised; after {@code maxDeliveries} deliveries it is moved to the dead-letter queue instead (a
 * {@link Queue} named {@code deadLetterName}, same key layout). Items are Go's ({@code name/%016d}) and can be
 * enqueued by Go's queue; consumers must all be reliable ones (Go's would take claimed items).
 *
 * <pre>{@code
 * ReliableQueue orders = ReliableQueue.builder(session, "orders").maxDeliveries(5).build();
 * try (Delivery d = orders.dequeue(Duration.ofSeconds(30))) {
 *   process(d.item().value());
 *   d.ack();                      // not acked (an exception): close() gives it back, delivered again
 * }
 * }</pre>
 */
public final class ReliableQueue {

  private final Session session;
  private final QueueLayout layout;
  private final ReliableClaims claims;
  private final String deadLetterName;

  private ReliableQueue(Builder b) {
    this.session = b.session;
    this.layout = new QueueLayout(b.name);
    this.deadLetterName = b.deadLetterName != null ? b.deadLetterName : b.name + "-dead";
    ByteSequence dead = Names.prefix(deadLetterName, "deadLetterName");
    this.claims = new ReliableClaims(layout, session, b.maxDeliveries, dead);
  }

  public static Builder builder(Session session, String name) {
    return new Builder(session, name);
  }

  public String name() {
    return layout.name;
  }

  /** The queue where items delivered {@code maxDeliveries} times end up. */
  public String deadLetterName() {
    return deadLetterName;
  }

  public CompletableFuture<QueueItem> enqueueAsync(ByteSequence value) {
    QueueLayout.checkValue(value);
    return SequentialKey.create(session.client().kv(), layout.prefix, value, 0)
        .thenApply(k -> QueueItem.of(layout.prefix.size(), k.key(), k.value()));
  }

  public QueueItem enqueue(ByteSequence value) throws InterruptedException {
    return Queues.await(enqueueAsync(value), session, "enqueue into " + layout.name);
  }

  public QueueItem enqueue(String value) throws InterruptedException {
    return enqueue(Queues.utf8(value));
  }

  /** Claims the oldest unclaimed item, waiting at most {@code timeout}; see {@link Queue#dequeue(Duration)}. */
  public Delivery dequeue(Duration timeout) throws InterruptedException, TimeoutException {
    return Takes.dequeue(layout, session, claims, timeout);
  }

  public Delivery dequeue() throws InterruptedException {
    return Takes.dequeue(layout, session, claims);
  }

  /** A claim as a future; cancelling it gives up (an item claimed meanwhile is released). */
  public CompletableFuture<Delivery> dequeueAsync() {
    return Takes.dequeueAsync(layout, session, claims);
  }

  public Optional<Delivery> poll() throws InterruptedException {
    return Takes.poll(layout, session, claims);
  }

  /** How many items are in the queue now, claimed ones included. */
  public long size() throws InterruptedException {
    return Queues.size(session, layout);
  }

  @Override
  public String toString() {
    return "ReliableQueue{" + layout.name + "}";
  }

  /** Builds a {@link ReliableQueue}; each setter once. */
  public static final class Builder {
    private final Session session;
    private final String name;
    private int maxDeliveries = 5;
    private boolean maxDeliveriesSet;
    private String deadLetterName;

    private Builder(Session session, String name) {
      this.session = Objects.requireNonNull(session, "session");
      Names.prefix(name, "name");
      this.name = name;
    }

    /** After this many deliveries an item goes to the dead letters (default 5; at least 1). */
    public Builder maxDeliveries(int n) {
      if (maxDeliveriesSet) {
        throw new IllegalStateException("maxDeliveries is already set");
      }
      if (n < 1) {
        throw new IllegalArgumentException("maxDeliveries must be >= 1, got " + n);
      }
      this.maxDeliveries = n;
      this.maxDeliveriesSet = true;
      return this;
    }

    /** The dead-letter queue's name (default {@code name + "-dead"}). */
    public Builder deadLetterName(String deadLetterName) {
      if (this.deadLetterName != null) {
        throw new IllegalStateException("deadLetterName is already set");
      }
      Names.prefix(deadLetterName, "deadLetterName");
      this.deadLetterName = deadLetterName;
      return this;
    }

    public ReliableQueue build() {
      return new ReliableQueue(this);
    }
  }
}
