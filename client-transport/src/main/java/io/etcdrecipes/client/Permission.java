package io.etcdrecipes.client;

import java.util.Objects;

/**
 * A role's access to a key or a range of keys: {@code key} alone when {@code rangeEnd} is {@code null},
 * else [{@code key}, {@code rangeEnd}) ({@link ByteSequence#NUL} as the end: every key from {@code key} on).
 */
public record Permission(Type type, ByteSequence key, ByteSequence rangeEnd) {

  /** What a permission allows. */
  public enum Type { READ, WRITE, READWRITE }

  public Permission {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(key, "key");
    if (rangeEnd != null && rangeEnd.isEmpty()) {
      rangeEnd = null;
    }
  }
}
