package io.etcdrecipes.recipes.internal;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.recipes.Session;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Fences against a create that is applied late. A recipe's create transaction carries the compare "this attempt's
 * fence key is absent". When the create's outcome is unknown (its answer was lost, the request may still be in a
 * raft log somewhere), the recipe raises the fence — a key {@code <fence prefix><hex lease>/<n>} on the
 * session's lease — and only then deletes the created key: a create applied before the fence is deleted, one applied
 * after it writes nothing. Without it a quorum that re-forms after the cleanup could commit the old create and leave a
 * key on a live lease that nobody deletes. Fences vanish with their sessions.
 */
public final class Fences {

  private static final Logger log = LoggerFactory.getLogger(Fences.class);
  private static final AtomicLong NEXT = new AtomicLong(ThreadLocalRandom.current().nextLong() >>> 1);

  private Fences() {}

  /** A fence key for one attempt of {@code session}. */
  public static ByteSequence newFence(Session session) {
    return session.fencePrefix().concat(Long.toHexString(session.leaseId()) + "/"
        + Long.toHexString(NEXT.incrementAndGet()));
  }

  /** The compare a create carries: the fence is not raised. */
  public static Compare notRaised(ByteSequence fence) {
    return Compare.version(fence).equal(0);
  }

  /** Raises the fence; retried while the session is not lost. Completes once raised (or the session is lost). */
  public static CompletableFuture<Void> raise(KV kv, Session session, ByteSequence fence) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    attempt(session, fence, () -> kv.put(fence, ByteSequence.EMPTY, PutOption.lease(session.leaseId()))
        .thenApply(r -> (Void) null), done, 100);
    return done;
  }

  /**
   * Raises the fence (retried as {@link #raise}); completes with the revision it was raised at, or with 0 once the
   * session is lost.
   */
  public static CompletableFuture<Long> raiseAt(KV kv, Session session, ByteSequence fence) {
    CompletableFuture<Long> done = new CompletableFuture<>();
    attempt(session, fence, () -> kv.put(fence, ByteSequence.EMPTY, PutOption.lease(session.leaseId()))
        .thenApply(r -> r.header().revision()), done, 100);
    return done.thenApply(r -> r == null ? 0L : r);
  }

  /**
   * Raises the fence and reads {@code read} in the same transaction (retried as {@link #raise}): the read sees the
   * state once no fenced create can apply any more, at a revision where the session's lease was alive (a put on an
   * expired lease fails). Completes with the read's response, or with null once the session is lost.
   */
  public static CompletableFuture<GetResponse> raiseAndRead(KV kv, Session session, ByteSequence fence, Op read) {
    CompletableFuture<GetResponse> done = new CompletableFuture<>();
    attempt(session, fence, () -> kv.txn().then(Op.put(fence, ByteSequence.EMPTY, PutOption.lease(session.leaseId())),
        read).commit().thenApply(r -> r.getResponse(1)), done, 100);
    return done;
  }

  private static <T> void attempt(Session session, ByteSequence fence, Supplier<CompletableFuture<T>> request,
                                  CompletableFuture<? super T> done, long backoff) {
    CompletableFuture<T> f;
    try {
      f = request.get();
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete((r, t) -> {
      if (t == null) {
        done.complete(r);
        return;
      }
      if (session.state() == io.etcdrecipes.recipes.SessionState.LOST) {
        done.complete(null);
        return;
      }
      log.debug("{}: fence not raised yet ({}); again in {} ms", fence.toStringUtf8(), t.toString(), backoff);
      try {
        SharedExecutors.timer().schedule(() -> attempt(session, fence, request, done, Math.min(2_000, backoff * 2)),
            backoff, TimeUnit.MILLISECONDS);
      } catch (RuntimeException e) {
        done.complete(null);
      }
    });
  }
}
