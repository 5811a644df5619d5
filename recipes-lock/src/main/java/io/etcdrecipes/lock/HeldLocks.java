package io.etcdrecipes.lock;

import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.OwnershipLostException;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The locks a {@link MultiLock} holds, in the order they were taken. Valid while every one is; {@link #lost()}
 * completes when the first one is lost. Closing releases them all, in reverse order.
 */
public final class HeldLocks implements AutoCloseable {

  private final List<Ownership> held;

  HeldLocks(List<Ownership> held) {
    this.held = List.copyOf(held);
  }

  /** Each lock held, in the order taken (sorted by name): fencing tokens and guards are per lock. */
  public List<Ownership> ownerships() {
    return held;
  }

  public boolean isValid() {
    return held.stream().allMatch(Ownership::isValid);
  }

  /** Completes with the first loss among them (cancelled once they are released). */
  public CompletableFuture<OwnershipLostException> lost() {
    return CompletableFuture.anyOf(held.stream().map(Ownership::lost).toArray(CompletableFuture[]::new))
        .thenApply(e -> (OwnershipLostException) e);
  }

  /** Releases every lock, last taken first; never throws (a failure is logged and retried in the background). */
  @Override
  public void close() {
    MultiLock.releaseAll(held);
  }

  @Override
  public String toString() {
    return "HeldLocks" + held;
  }
}
