package io.etcdrecipes.client;

import java.util.List;

/**
 * The result of a get.
 *
 * @param kvs the keys found, at most the limit (none with count-only)
 * @param more whether the range holds more keys than were returned
 * @param count how many keys the range holds in all
 */
public record GetResponse(ResponseHeader header, List<KeyValue> kvs, boolean more, long count) implements OpResponse {

  /** The first key-value, or {@code null} when nothing was found. */
  public KeyValue first() {
    return kvs.isEmpty() ? null : kvs.get(0);
  }

  public boolean isEmpty() {
    return kvs.isEmpty();
  }
}
