package io.etcdrecipes.recipes.internal;

import io.etcdrecipes.client.ByteSequence;

/** Checks of the names recipes are given (a lock's, an election's), before anything is written. */
public final class Names {

  private Names() {}

  /**
   * {@code name} as the key prefix of a recipe: not null, not empty or blank, and not ending in {@code /} (the
   * recipe adds {@code /} itself, as Go does); else {@link IllegalArgumentException} naming {@code argument}.
   */
  public static ByteSequence prefix(String name, String argument) {
    if (name == null) {
      throw new IllegalArgumentException(argument + " must not be null");
    }
    if (name.isBlank()) {
      throw new IllegalArgumentException(argument + " must not be empty or blank, got '" + name + "'");
    }
    if (name.endsWith("/")) {
      throw new IllegalArgumentException(argument + " must not end with '/' (the recipe adds it), got '" + name + "'");
    }
    return ByteSequence.of(name);
  }
}
