package io.etcdrecipes.recipes;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;

/**
 * The lifecycle every recipe shares: {@link State#LATENT} until {@link #start()}, then {@link State#STARTED},
 * then {@link State#CLOSED} for good. Whatever a recipe opens (watches, waits, keep-alives, sub-recipes) it
 * registers with {@link #track}, and {@link #close()} closes all of it, the newest first, then calls
 * {@link #doClose()}. Thread-safe; {@code close()} is idempotent and safe before {@code start()}.
 */
public abstract class Recipe implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Recipe.class);

  /** Where a recipe is in its life. */
  public enum State { LATENT, STARTED, CLOSED }

  private final Deque<AutoCloseable> resources = new ArrayDeque<>();
  private State state = State.LATENT; // guarded by this

  public final synchronized State state() {
    return state;
  }

  public final synchronized boolean isStarted() {
    return state == State.STARTED;
  }

  /**
   * LATENT → STARTED, then {@link #doStart()}. If {@code doStart} throws, the recipe is closed and the
   * exception rethrown. Starting twice, or after close, is an {@link IllegalStateException}.
   */
  public final void start() {
    synchronized (this) {
      if (state != State.LATENT) {
        throw new IllegalStateException(getClass().getSimpleName() + " cannot start: it is " + state);
      }
      state = State.STARTED;
    }
    try {
      doStart();
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
  }

  /** Closes everything tracked (newest first), then {@link #doClose()}. Idempotent. */
  @Override
  public final void close() {
    List<AutoCloseable> toClose;
    synchronized (this) {
      if (state == State.CLOSED) {
        return;
      }
      state = State.CLOSED;
      toClose = new ArrayList<>(resources);
      resources.clear();
    }
    for (AutoCloseable c : toClose) {
      try {
        c.close();
      } catch (Exception e) {
        log.warn("{}: closing {} failed", getClass().getSimpleName(), c, e);
      }
    }
    try {
      doClose();
    } catch (RuntimeException e) {
      log.warn("{}: doClose failed", getClass().getSimpleName(), e);
    }
  }

  /** Called once on start, after the state became STARTED. */
  protected void doStart() {}

  /** Called once on close, after every tracked resource was closed. */
  protected void doClose() {}

  /**
   * Registers {@code resource} to be closed with the recipe and returns it. On a closed recipe the resource is
   * closed at once and {@link IllegalStateException} thrown, so nothing opened during a close leaks.
   */
  protected final <T extends AutoCloseable> T track(T resource) {
    Objects.requireNonNull(resource, "resource");
    synchronized (this) {
      if (state != State.CLOSED) {
        resources.push(resource);
        return resource;
      }
    }
    try {
      resource.close();
    } catch (Exception e) {
      log.debug("closing a resource tracked after close", e);
    }
    throw new IllegalStateException(getClass().getSimpleName() + " is closed");
  }

  /** Forgets {@code resource} (closed by its user already); returns whether it was tracked. */
  protected final synchronized boolean untrack(AutoCloseable resource) {
    return resources.remove(resource);
  }

  /** Throws {@link IllegalStateException} unless STARTED. */
  protected final void ensureStarted() {
    State s = state();
    if (s != State.STARTED) {
      throw new IllegalStateException(getClass().getSimpleName() + " is " + s + ", not STARTED");
    }
  }
}
