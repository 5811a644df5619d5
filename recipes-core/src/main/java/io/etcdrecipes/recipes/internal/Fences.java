package io.etcdrecipes.recipes.internal;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.recipes.Session;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fences against a create that is applied late. A recipe's create transaction carries the compare "this attempt's
 * fence key is absent". When the create's outcome is unknown (its answer was lost, the request may still be in a
 * raft log somewhere), the recipe raises the fence — a key {@code __etcd-recipes/fence/<hex lease>/<n>} on the
 * session's lease — and only then deletes the created key: a create applied before the fence is deleted, one applied
 * after it writes nothing. Without it a quorum that re-forms after the cleanup could commit the old create and leave a
 * key on a live lease that nobody deletes. Fences vanish with their sessions.
 */
public final class Fences {

  private static final Logger log = LoggerFactory.getLogger(Fences.class);
  private static final ByteSequence ROOT = ByteSequence.of("__etcd-recipes/fence/");
  private static final AtomicLong NEXT = new AtomicLong(ThreadLocalRandom.current().nextLong() >>> 1);

  private Fences() {}

  /** A fence key for one attempt of {@code session}. */
  public static ByteSequence newFence(Session session) {
    return ROOT.concat(Long.toHexString(session.leaseId()) + "/" + Long.toHexString(NEXT.incrementAndGet()));
  }

  /** The compare a create carries: the fence is not raised. */
  public static Compare notRaised(ByteSequence fence) {
    return Compare.version(fence).equal(0);
  }

  /** Raises the fence; retried while the session is not lost. Completes once raised (or the session is lost). */
  public static CompletableFuture<Void> raise(KV kv, Session session, ByteSequence fence) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    attempt(kv, session, fence, done, 100);
    return done;
  }

  private static void attempt(KV kv, Session session, ByteSequence fence, CompletableFuture<Void> done, long backoff) {
    kv.put(fence, ByteSequence.EMPTY, PutOption.lease(session.leaseId())).whenComplete((r, t) -> {
      if (t == null || session.state() == io.etcdrecipes.recipes.SessionState.LOST) {
        done.complete(null);
        return;
      }
      log.debug("{}: fence not raised yet ({}); again in {} ms", fence.toStringUtf8(), t.toString(), backoff);
      try {
        SharedExecutors.timer().schedule(() -> attempt(kv, session, fence, done, Math.min(2_000, backoff * 2)),
            backoff, TimeUnit.MILLISECONDS);
      } catch (RuntimeException e) {
        done.complete(null);
      }
    });
  }
}
