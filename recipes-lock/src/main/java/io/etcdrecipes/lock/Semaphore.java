package io.etcdrecipes.lock;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.SortOrder;
import io.etcdrecipes.client.SortTarget;
import io.etcdrecipes.recipes.Contender;
import io.etcdrecipes.recipes.ContentionPolicy;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionPolicy;
import io.etcdrecipes.recipes.Turn;
import io.etcdrecipes.recipes.internal.Names;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * A distributed counting semaphore of {@code permits}: each permit holder is a key {@code name/<unix nanos>} on its
 * session's lease (so a holder that dies gives its permit back after its TTL, one that closes at once), and a
 * claimant holds a permit when fewer than {@code permits} keys are older than its own — fair, first come first
 * served by create revision.
 *
 * <pre>{@code
 * Semaphore pool = Semaphore.create(session, "quota/exports", 4);
 * try (Ownership permit = pool.acquire(Duration.ofSeconds(30))) { ... }   // at most 4 at once, cluster-wide
 * }</pre>
 *
 * <p><b>No herd.</b> The first claimant in line (exactly {@code permits} older keys) watches the deletes under the
 * prefix, and wakes only for a key older than its own; every other claimant watches the claimant right ahead of it,
 * which rewrites its key once it holds a permit, so one release wakes one claimant, which wakes one more. The counts
 * are made on the client from keys-only reads (etcd ignores create-revision filters when it only counts, etcd#18267).
 *
 * <p>Same contract as {@link DistributedLock} ({@link #acquire(Duration)} throws {@link TimeoutException} and
 * leaves nothing behind, {@link #acquire()} is interruptible, {@link #acquireAsync()} is a future,
 * {@link #tryAcquire()} never waits); each permit is an {@link Ownership} with its fencing token (its key's create
 * revision: unique among permits; not in grant order, since claimants queued together may be granted in either
 * order) and its {@code lost()}. Every participant must use the same number of
 * permits: it is not stored in etcd.
 */
public final class Semaphore {

  private final String name;
  private final int permits;
  private final UniqueKeyLock claims;

  private Semaphore(Session session, String name, int permits, SessionPolicy policy) {
    Objects.requireNonNull(session, "session");
    ByteSequence prefix = Names.prefix(name, "name");
    if (permits < 1) {
      throw new IllegalArgumentException("permits must be >= 1, got " + permits);
    }
    this.name = name;
    this.permits = permits;
    this.claims = new UniqueKeyLock(session, name, prefix, queue(prefix.concat("/"), permits),
        Objects.requireNonNull(policy, "policy"), true);
  }

  /** A semaphore named {@code name} with {@code permits} permits, each lost when the session is suspended. */
  public static Semaphore create(Session session, String name, int permits) {
    return new Semaphore(session, name, permits, SessionPolicy.SUSPENDED_IS_LOST);
  }

  public static Semaphore create(Session session, String name, int permits, SessionPolicy policy) {
    return new Semaphore(session, name, permits, policy);
  }

  public String name() {
    return name;
  }

  public int permits() {
    return permits;
  }

  /**
   * Waits at most {@code timeout} for a permit; on {@link TimeoutException} the claim's key is already deleted (while
   * etcd cannot be reached, in the background once it can).
   */
  public Ownership acquire(Duration timeout) throws InterruptedException, TimeoutException {
    return claims.lock(timeout);
  }

  /** Waits for a permit until one is held or the thread is interrupted (the claim deleted first). */
  public Ownership acquire() throws InterruptedException {
    return claims.lock();
  }

  /** A permit as a future; cancelling it gives the claim up. */
  public CompletableFuture<Ownership> acquireAsync() {
    return claims.lockAsync();
  }

  /** A permit if one is free now (nobody ahead in line), else empty; never waits. */
  public Optional<Ownership> tryAcquire() {
    return claims.tryLock();
  }

  /**
   * The claimant owns when fewer than {@code permits} keys are older; the first in line waits for any older delete,
   * the others for a change of the one right ahead.
   */
  private static ContentionPolicy queue(ByteSequence range, int permits) {
    return new ContentionPolicy() {
      @Override
      public List<Op> reads(Contender me) {
        GetOption older = GetOption.builder().prefix().keysOnly().sort(SortTarget.CREATE, SortOrder.ASCEND)
            .maxCreateRevision(me.createRevision() - 1).limit(permits + 1L).build();
        return List.of(Op.get(range, older), ContentionPolicy.youngestOlder(range, me));
      }

      @Override
      public Turn decide(Contender me, List<GetResponse> results) {
        int older = results.get(0).kvs().size(); // counted here: a count-only read would ignore the filter
        if (older < permits) {
          return Turn.owns();
        }
        if (older == permits) {
          return Turn.awaitOlderDelete(range);
        }
        KeyValue ahead = results.get(1).first();
        return ahead == null ? Turn.awaitOlderDelete(range) : Turn.awaitChange(ahead.key());
      }
    };
  }

  @Override
  public String toString() {
    return "Semaphore{" + name + ", " + permits + " permits}";
  }
}
