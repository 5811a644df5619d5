package io.etcdrecipes.recipes;

/**
 * A registered listener (or any other subscription): {@link #close()} removes it. After {@code close()} returns
 * the listener is not called again, except for a call already running on another thread. Idempotent. A recipe
 * keeps these with its other resources ({@code Recipe.track}) so that closing the recipe unregisters them.
 */
@FunctionalInterface
public interface Registration extends AutoCloseable {

  @Override
  void close();
}
