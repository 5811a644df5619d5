package io.etcdrecipes.queue;

import io.etcdrecipes.client.ByteSequence;

import java.util.Objects;

/**
 * An item of a queue: its key in Go's layout ({@code name/%016d}, or {@code name/%05d/%016d} in a priority queue),
 * its value, its sequence number and its priority ({@code -1} in a FIFO queue).
 */
public record QueueItem(ByteSequence key, ByteSequence value, long sequence, int priority) {

  public QueueItem {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
  }

  public String valueUtf8() {
    return value.toStringUtf8();
  }

  /** Parses an item key of a queue named by {@code nameLength} bytes (Go's layouts, see the class comment). */
  static QueueItem of(int nameLength, ByteSequence key, ByteSequence value) {
    String rest = key.substring(nameLength + 1).toStringUtf8();
    int slash = rest.indexOf('/');
    int priority = slash < 0 ? -1 : Integer.parseInt(rest.substring(0, slash));
    String seq = slash < 0 ? rest : rest.substring(slash + 1);
    int end = 0;
    while (end < seq.length() && Character.isDigit(seq.charAt(end))) {
      end++;
    }
    long sequence = end == 0 ? -1 : Long.parseLong(seq.substring(0, end));
    return new QueueItem(key, value, sequence, priority);
  }
}
