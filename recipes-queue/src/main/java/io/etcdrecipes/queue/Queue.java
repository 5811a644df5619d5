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
 * A distributed FIFO queue in the layouts of Go's {@code recipe} package: items are keys {@code name/%016d} (sequence
 * numbers allocated with Go's {@code __name} bookkeeping key, Go's {@code newSequentialKV}); Go's {@code Queue} writes
 * {@code name/<unix nanos>}, which ours takes too, so Go producers and consumers and ours share a queue. Taking an item
 * deletes it (guarded by its mod revision). A take from the line of waiting consumers whose answer was lost is
 * recovered (the take is fenced, then the consumer's line key read: gone means taken); one on the fast path (nobody
 * waiting) may lose its item: <b>at most once</b> there, as in Go. For at least once, see {@link ReliableQueue}.
 *
 * <pre>{@code
 * Queue jobs = Queue.create(session, "jobs/resize");
 * jobs.enqueue("image-17.png");
 * QueueItem next = jobs.dequeue(Duration.ofSeconds(30));   // TimeoutException: nothing taken, nothing left behind
 * }</pre>
 *
 * <p><b>No herd.</b> In Go every waiting consumer races for the first item, and every enqueue wakes every consumer.
 * Here consumers waiting on an empty queue line up (a key each on their session's lease): only the first watches for
 * items; it takes the oldest item in a transaction that also leaves the line, which wakes exactly the next one. With
 * items to spare and nobody waiting, a dequeue is two round trips (read, take). Items are always taken oldest first.
 *
 * <p>The session is the consumers'; producers need none (items outlive their producers). Thread-safe.
 */
public final class Queue {

  private final Session session;
  private final QueueLayout layout;
  private final PlainClaims claims;

  private Queue(Session session, String name) {
    this.session = Objects.requireNonNull(session, "session");
    this.layout = new QueueLayout(name);
    this.claims = new PlainClaims(layout, session.client().kv());
  }

  public static Queue create(Session session, String name) {
    return new Queue(session, name);
  }

  public String name() {
    return layout.name;
  }

  /** Appends {@code value} (Go's {@code Enqueue}); completes with the item once it is in etcd. */
  public CompletableFuture<QueueItem> enqueueAsync(ByteSequence value) {
    QueueLayout.checkValue(value);
    return SequentialKey.create(session.client().kv(), layout.prefix, value, 0)
        .thenApply(k -> QueueItem.of(layout.prefix.size(), k.key(), k.value()));
  }

  /** {@link #enqueueAsync} bounded by the client's call timeout. */
  public QueueItem enqueue(ByteSequence value) throws InterruptedException {
    return Queues.await(enqueueAsync(value), session, "enqueue into " + layout.name);
  }

  public QueueItem enqueue(String value) throws InterruptedException {
    return enqueue(Queues.utf8(value));
  }

  /**
   * Takes the oldest item, waiting at most {@code timeout} for one. {@link TimeoutException}: nothing was taken and
   * this consumer left the line; an item whose take was already in flight at the deadline is still returned.
   */
  public QueueItem dequeue(Duration timeout) throws InterruptedException, TimeoutException {
    return Takes.dequeue(layout, session, claims, timeout);
  }

  /** Takes the oldest item, waiting until there is one or the thread is interrupted (nothing taken then). */
  public QueueItem dequeue() throws InterruptedException {
    return Takes.dequeue(layout, session, claims);
  }

  /** The oldest item as a future; cancelling it gives up (an item taken meanwhile is put back). */
  public CompletableFuture<QueueItem> dequeueAsync() {
    return Takes.dequeueAsync(layout, session, claims);
  }

  /** Takes the oldest item if there is one now; never waits for one. */
  public Optional<QueueItem> poll() throws InterruptedException {
    return Takes.poll(layout, session, claims);
  }

  /** The oldest item, not taken (a linearizable read). */
  public Optional<QueueItem> peek() throws InterruptedException {
    return Queues.await(session.client().kv().get(layout.itemsFrom,
        GetOption.builder().range(layout.itemsTo).limit(1).build()).thenApply(r -> {
          KeyValue kv = r.first();
          return kv == null ? Optional.<QueueItem>empty()
              : Optional.of(QueueItem.of(layout.prefix.size(), kv.key(), kv.value()));
        }), session, "peek at " + layout.name);
  }

  /** How many items are in the queue now. */
  public long size() throws InterruptedException {
    return Queues.size(session, layout);
  }

  @Override
  public String toString() {
    return "Queue{" + layout.name + "}";
  }
}
