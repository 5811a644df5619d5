package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.PutOption;

import java.util.concurrent.CompletableFuture;

/**
 * Sequential keys in the layout of Go's recipes ({@code newSequentialKV}, used by its queues):
 * {@code prefix/%016d}, one more than the last key under {@code prefix/}, plus a bookkeeping key
 * {@code "__" + prefix} written in the same transaction. The transaction only succeeds if the bookkeeping key
 * was not written after the read that chose the number ({@code modRevision("__"+prefix) < readRevision + 1});
 * that stops a slow allocator from reusing a number another allocator already handed out and deleted.
 * Lost races are retried with a new number.
 */
public final class SequentialKey {

  private static final int MAX_TRIES = 1000;

  private SequentialKey() {}

  /** The bookkeeping key of {@code prefix}: {@code "__" + prefix}. */
  public static ByteSequence bookkeepingKey(ByteSequence prefix) {
    return ByteSequence.of("__").concat(prefix);
  }

  /** The key with sequence number {@code n}: {@code prefix/%016d}. */
  public static ByteSequence keyOf(ByteSequence prefix, long n) {
    return prefix.concat(String.format("/%016d", n));
  }

  /** Creates the next sequential key with {@code value}, attached to {@code leaseId} (0 for none). */
  public static CompletableFuture<CreatedKey> create(KV kv, ByteSequence prefix, ByteSequence value, long leaseId) {
    return attempt(kv, prefix, value, leaseId, 1);
  }

  public static CompletableFuture<CreatedKey> create(KV kv, String prefix, String value, long leaseId) {
    return create(kv, ByteSequence.of(prefix), ByteSequence.of(value), leaseId);
  }

  private static CompletableFuture<CreatedKey> attempt(KV kv, ByteSequence prefix, ByteSequence value, long leaseId,
                                                       int n) {
    // Go reads the last key of the bare prefix; we read under prefix + "/" so that a sibling like "prefix2"
    // cannot be taken for ours. The keys written are the same.
    return kv.get(prefix.concat("/"), GetOption.lastKey()).thenCompose(last -> {
      long next;
      try {
        next = last.isEmpty() ? 0 : sequenceOf(last.first()) + 1;
      } catch (IllegalStateException e) {
        return CompletableFuture.failedFuture(e);
      }
      ByteSequence key = keyOf(prefix, next);
      ByteSequence base = bookkeepingKey(prefix);
      return kv.txn()
          .when(Compare.modRevision(base).less(last.header().revision() + 1))
          .then(Op.put(base, ByteSequence.EMPTY), Op.put(key, value,
              leaseId == 0 ? PutOption.DEFAULT : PutOption.lease(leaseId)))
          .commit()
          .thenCompose(r -> {
            if (r.succeeded()) {
              return CompletableFuture.completedFuture(new CreatedKey(key, value, r.header().revision()));
            }
            if (n >= MAX_TRIES) {
              return CompletableFuture.failedFuture(new IllegalStateException(
                  "no sequential key under " + prefix + " after " + n + " tries"));
            }
            return attempt(kv, prefix, value, leaseId, n + 1);
          });
    });
  }

  /** The number after the last "/" of the key, read as Go's {@code %d} does (leading digits). */
  static long sequenceOf(KeyValue kv) {
    String k = kv.key().toStringUtf8();
    String last = k.substring(k.lastIndexOf('/') + 1);
    int end = 0;
    if (end < last.length() && (last.charAt(end) == '-' || last.charAt(end) == '+')) {
      end++;
    }
    while (end < last.length() && Character.isDigit(last.charAt(end))) {
      end++;
    }
    try {
      return Long.parseLong(last.substring(0, end));
    } catch (NumberFormatException e) {
      throw new IllegalStateException("the last key " + k + " has no sequence number", e);
    }
  }
}
