package io.etcdrecipes.barrier;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.CompactedException;
import io.etcdrecipes.client.DeadlineExceededException;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.recipes.WaitForEvents;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.Names;
import io.etcdrecipes.recipes.internal.Outcomes;
import io.etcdrecipes.recipes.internal.SharedExecutors;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * A barrier in the layout of Go's {@code recipe.Barrier}: while the key exists, {@link #await} blocks; {@link #release}
 * deletes it and lets every waiter through. The key has no lease (as in Go): a barrier held by a process that died
 * stays held until someone releases it — so it needs no session, only a client.
 *
 * <pre>{@code
 * Barrier deploy = Barrier.create(client, "barriers/deploy-v42");
 * deploy.hold();                                   // coordinator
 * deploy.await(Duration.ofMinutes(5));             // workers: TimeoutException, and nothing left behind
 * deploy.release();                                // coordinator: every worker goes on
 * }</pre>
 *
 * <p>{@link #await} reads the key and, if it is there, waits for its DELETE from the read's revision + 1 (Go waits for
 * a PUT and then a DELETE from the read's revision, and so can block forever on a barrier released in between). Each
 * waiter has one watch on the client's shared watch stream.
 */
public final class Barrier {

  private final EtcdClient client;
  private final String name;
  private final ByteSequence key;

  private Barrier(EtcdClient client, String name) {
    this.client = Objects.requireNonNull(client, "client");
    this.key = Names.prefix(name, "name");
    this.name = name;
  }

  /** The barrier {@code name} (its key: Go's {@code recipe.Barrier} keeps the flag at exactly that key). */
  public static Barrier create(EtcdClient client, String name) {
    return new Barrier(client, name);
  }

  /** The name the barrier was created with (the key of its flag), as every recipe names its {@code name()}. */
  public String name() {
    return name;
  }

  /** Holds the barrier (creates its key if missing). Returns whether this call created it. */
  public CompletableFuture<Boolean> holdAsync() {
    return client.kv().txn().when(Compare.version(key).equal(0)).then(Op.put(key, ByteSequence.EMPTY)).commit()
        .thenApply(r -> r.succeeded());
  }

  public boolean hold() throws InterruptedException {
    return bounded(holdAsync(), "hold");
  }

  /** Releases the barrier (deletes its key): every waiter goes on. Returns whether it was held. */
  public CompletableFuture<Boolean> releaseAsync() {
    return client.kv().delete(key).thenApply(r -> r.deleted() > 0);
  }

  public boolean release() throws InterruptedException {
    return bounded(releaseAsync(), "release");
  }

  /** Whether the barrier is held now (a linearizable read). */
  public boolean isHeld() throws InterruptedException {
    return bounded(client.kv().get(key).thenApply(r -> !r.isEmpty()), "isHeld");
  }

  /** Completes once the barrier is not held (at once if it is not held now); cancelling it stops waiting. */
  public CompletableFuture<Void> awaitAsync() {
    CompletableFuture<Void> result = new CompletableFuture<>();
    awaitRound(result, 0, FIRST_RETRY_MILLIS);
    return result;
  }

  private static final long FIRST_RETRY_MILLIS = 50;
  private static final long MAX_RETRY_MILLIS = 1_000;

  /**
   * One read, then a watch for the delete from the revision after it. A watch behind a compaction reads again: the
   * hold it waited for ({@code heldSince}, the key's create revision; 0 on the first read) is over if the key is
   * gone or was created again since — a release followed by a new hold must not keep the waiter for the next one.
   * A read or watch that fails with a transient error (an etcd election, a killed member) starts the round again after
   * a backoff of 50 ms doubling to 1 s, until the caller's own timeout (docs/conventions.md).
   */
  private void awaitRound(CompletableFuture<Void> result, long heldSince, long backoffMillis) {
    if (result.isDone()) {
      return;
    }
    client.kv().get(key).whenComplete((r, t) -> {
      if (t != null) {
        retryOrFail(result, heldSince, t, backoffMillis);
      } else if (r.isEmpty() || (heldSince != 0 && r.kvs().get(0).createRevision() != heldSince)) {
        result.complete(null);
      } else {
        long held = r.kvs().get(0).createRevision();
        WaitForEvents w = WaitForEvents.key(client.watch(), key, r.header().revision() + 1, WatchEvent.Type.DELETE);
        result.whenComplete((v, e) -> w.close()); // cancelled: stop watching
        w.future().whenComplete((ev, e) -> {
          Throwable c = e == null ? null : Blocking.unwrap(e);
          if (c instanceof CompactedException) {
            awaitRound(result, held, FIRST_RETRY_MILLIS); // the delete may be among what was compacted away: read again
          } else if (c != null) {
            retryOrFail(result, held, c, backoffMillis);
          } else {
            result.complete(null);
          }
        });
      }
    });
  }

  private void retryOrFail(CompletableFuture<Void> result, long heldSince, Throwable failure, long backoffMillis) {
    Throwable c = Blocking.unwrap(failure);
    if (result.isDone() || !Outcomes.isTransient(c)) {
      result.completeExceptionally(c);
      return;
    }
    try {
      SharedExecutors.timer().schedule(() -> awaitRound(result, heldSince, Math.min(MAX_RETRY_MILLIS, backoffMillis * 2)),
          backoffMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) { // the timer refused (shutting down)
      result.completeExceptionally(c);
    }
  }

  /** Waits at most {@code timeout} for the barrier to be released; {@link TimeoutException} stops the wait's watch. */
  public void await(Duration timeout) throws InterruptedException, TimeoutException {
    Blocking.checkTimeout(timeout, "timeout");
    CompletableFuture<Void> f = awaitAsync();
    try {
      Blocking.await(f, timeout);
    } catch (TimeoutException | InterruptedException e) {
      f.cancel(false);
      throw e;
    }
  }

  /** Waits until the barrier is released or the thread is interrupted. */
  public void await() throws InterruptedException {
    CompletableFuture<Void> f = awaitAsync();
    try {
      Blocking.await(f);
    } catch (InterruptedException e) {
      f.cancel(false);
      throw e;
    }
  }

  private <T> T bounded(CompletableFuture<T> f, String what) throws InterruptedException {
    try {
      return Blocking.await(f, client.config().callTimeout().plusSeconds(1));
    } catch (TimeoutException e) {
      throw new DeadlineExceededException(ErrorCode.DEADLINE_EXCEEDED, what + " of barrier " + name + ": no answer in time",
          null, e);
    } catch (CancellationException e) {
      throw e;
    }
  }

  @Override
  public String toString() {
    return "Barrier{" + name + "}";
  }
}
