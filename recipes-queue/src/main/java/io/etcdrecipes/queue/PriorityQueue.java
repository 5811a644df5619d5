package io.etcdrecipes.queue;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SequentialKey;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * A distributed priority queue in the layout of Go's {@code recipe.PriorityQueue}: items are keys
 * {@code name/%05d/%016d} — the priority (an unsigned 16-bit number), then a sequence number per priority — and the
 * first key is taken first: <b>the lowest number first</b>, FIFO within a priority (Go's order). Taking deletes the
 * item (at most once), with the same line of waiting consumers as {@link Queue} (no herd).
 *
 * <pre>{@code
 * PriorityQueue tasks = PriorityQueue.create(session, "tasks");
 * tasks.enqueue("rebuild-index", 10);
 * tasks.enqueue("page-oncall", 0);                      // taken before every priority 10 item
 * QueueItem next = tasks.dequeue(Duration.ofSeconds(5));
 * }</pre>
 */
public final class PriorityQueue {

  /** The highest priority number (Go's {@code uint16}); 0 is taken first. */
  public static final int MAX_PRIORITY = 0xFFFF;

  private final Session session;
  private final QueueLayout layout;
  private final PlainClaims claims;

  private PriorityQueue(Session session, String name) {
    this.session = Objects.requireNonNull(session, "session");
    this.layout = new QueueLayout(name);
    this.claims = new PlainClaims(layout, session.client().kv());
  }

  public static PriorityQueue create(Session session, String name) {
    return new PriorityQueue(session, name);
  }

  public String name() {
    return layout.name;
  }

  /** Appends {@code value} with {@code priority} (0..{@value #MAX_PRIORITY}, 0 first). */
  public CompletableFuture<QueueItem> enqueueAsync(ByteSequence value, int priority) {
    QueueLayout.checkValue(value);
    if (priority < 0 || priority > MAX_PRIORITY) {
      throw new IllegalArgumentException("priority must be in 0.." + MAX_PRIORITY + ", got " + priority);
    }
    return SequentialKey.create(session.client().kv(), layout.prefix.concat(String.format("/%05d", priority)), value, 0)
        .thenApply(k -> QueueItem.of(layout.prefix.size(), k.key(), k.value()));
  }

  public QueueItem enqueue(ByteSequence value, int priority) throws InterruptedException {
    return Queues.await(enqueueAsync(value, priority), session, "enqueue into " + layout.name);
  }

  public QueueItem enqueue(String value, int priority) throws InterruptedException {
    return enqueue(Queues.utf8(value), priority);
  }

  /** Takes the first item (lowest priority number, oldest), waiting at most {@code timeout}; see {@link Queue#dequeue(Duration)}. */
  public QueueItem dequeue(Duration timeout) throws InterruptedException, TimeoutException {
    return Takes.dequeue(layout, session, claims, timeout);
  }

  public QueueItem dequeue() throws InterruptedException {
    return Takes.dequeue(layout, session, claims);
  }

  public CompletableFuture<QueueItem> dequeueAsync() {
    return Takes.dequeueAsync(layout, session, claims);
  }

  public Optional<QueueItem> poll() throws InterruptedException {
    return Takes.poll(layout, session, claims);
  }

  public Optional<QueueItem> peek() throws InterruptedException {
    return Queues.await(session.client().kv().get(layout.itemsFrom,
        GetOption.builder().range(layout.itemsTo).limit(1).build()).thenApply(r -> {
          KeyValue kv = r.first();
          return kv == null ? Optional.<QueueItem>empty()
              : Optional.of(QueueItem.of(layout.prefix.size(), kv.key(), kv.value()));
        }), session, "peek at " + layout.name);
  }

  public long size() throws InterruptedException {
    return Queues.size(session, layout);
  }

  @Override
  public String toString() {
    return "PriorityQueue{" + layout.name + "}";
  }
}
