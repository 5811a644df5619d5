package io.etcdrecipes.queue;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.recipes.internal.Names;

/**
 * Where a queue named {@code name} keeps its keys. The items are Go's: {@code name/%016d} (FIFO) or
 * {@code name/%05d/%016d} (priority), allocated with Go's {@code __name} (or {@code __name/%05d}) bookkeeping key
 * ({@code newSequentialKV}); Go's {@code Queue} writes {@code name/<unix nanos>}, in the same range, so Go's queues and
 * ours read each other's items. Everything else of ours lives under {@code __name/}
 * (outside {@code name}, which Go's consumers read): the line of waiting consumers {@code __name/consumers/<nanos>},
 * and in reliable mode the claims {@code __name/claims/<item suffix>} and delivery counts
 * {@code __name/deliveries/<item suffix>}.
 */
final class QueueLayout {

  /** The largest item accepted: etcd refuses requests above 1.5 MiB by default. */
  static final int MAX_ITEM_BYTES = 1 << 20;

  final String name;
  final ByteSequence prefix;
  /** Item keys are in [{@code itemsFrom}, {@code itemsTo}): the keys under {@code name/} that start with a digit. */
  final ByteSequence itemsFrom;
  final ByteSequence itemsTo;
  final ByteSequence consumers;
  final ByteSequence claims;
  final ByteSequence deliveries;

  QueueLayout(String name) {
    this.prefix = Names.prefix(name, "name");
    this.name = name;
    this.itemsFrom = prefix.concat("/0");
    this.itemsTo = prefix.concat("/:"); // ':' follows '9'
    ByteSequence ours = ByteSequence.of("__").concat(prefix).concat("/");
    this.consumers = ours.concat("consumers/");
    this.claims = ours.concat("claims/");
    this.deliveries = ours.concat("deliveries/");
  }

  /** What follows {@code name/} in an item key (its sequence, or {@code %05d/%016d}). */
  ByteSequence suffix(ByteSequence itemKey) {
    return itemKey.substring(prefix.size() + 1);
  }

  /** The prefix an item's sequence number was allocated under: {@code name}, or {@code name/%05d}. */
  ByteSequence parentOf(QueueItem item) {
    return item.priority() < 0 ? prefix : prefix.concat(String.format("/%05d", item.priority()));
  }

  ByteSequence claimOf(ByteSequence itemKey) {
    return claims.concat(suffix(itemKey));
  }

  ByteSequence deliveriesOf(ByteSequence itemKey) {
    return deliveries.concat(suffix(itemKey));
  }

  static void checkValue(ByteSequence value) {
    if (value == null) {
      throw new IllegalArgumentException("value must not be null");
    }
    if (value.size() > MAX_ITEM_BYTES) {
      throw new IllegalArgumentException("value is " + value.size() + " bytes; an item holds at most " + MAX_ITEM_BYTES);
    }
  }
}
