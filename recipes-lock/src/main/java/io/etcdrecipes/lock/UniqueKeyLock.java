package io.etcdrecipes.lock;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.recipes.Attempt;
import io.etcdrecipes.recipes.ContentionPolicy;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionPolicy;
import io.etcdrecipes.recipes.internal.Blocking;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * A {@link DistributedLock} whose every acquisition is a new key {@code keyPrefix/<unix nanos>} on the session's
 * lease, queued by a {@link ContentionPolicy}: the sides of a {@link ReadWriteLock}, and a {@link Semaphore}'s
 * permits.
 */
class UniqueKeyLock implements DistributedLock {

  private final Session session;
  private final String name;
  private final ByteSequence keyPrefix;
  private final ContentionPolicy queue;
  private final SessionPolicy policy;
  private final boolean touchAfterWait;

  UniqueKeyLock(Session session, String name, ByteSequence keyPrefix, ContentionPolicy queue, SessionPolicy policy,
                boolean touchAfterWait) {
    this.session = session;
    this.name = name;
    this.keyPrefix = keyPrefix;
    this.queue = queue;
    this.policy = policy;
    this.touchAfterWait = touchAfterWait;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Ownership lock(Duration timeout) throws InterruptedException, TimeoutException {
    Blocking.checkTimeout(timeout, "timeout");
    return attempt(Attempt.Mode.WAIT).await(timeout);
  }

  @Override
  public Ownership lock() throws InterruptedException {
    return attempt(Attempt.Mode.WAIT).await();
  }

  @Override
  public CompletableFuture<Ownership> lockAsync() {
    return Locks.async(attempt(Attempt.Mode.WAIT));
  }

  @Override
  public Optional<Ownership> tryLock() {
    return Locks.tryNow(attempt(Attempt.Mode.TRY), session, name);
  }

  private Attempt attempt(Attempt.Mode mode) {
    return Attempt.uniqueKey(session, keyPrefix, ByteSequence.EMPTY, queue, policy, mode, touchAfterWait);
  }

  /** What makes two objects the same lock for {@link ThreadLock}'s hold counts: the session and the key prefix. */
  final Object holdIdentity() {
    return java.util.List.of(new ThreadLock.SameObject(session), keyPrefix);
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "{" + name + "}";
  }
}
