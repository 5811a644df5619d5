package io.etcdrecipes.queue;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.TxnResponse;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * How a consumer takes an item: plain (delete it: at most once, Go's queue) or reliable (claim it under the
 * consumer's session: at least once). The {@link Taker} runs the loop; a rule only says what to read, which item is
 * free, and what transaction takes it.
 */
interface ClaimRule<T> {

  /** What to read besides the items, in the same read (e.g. the claims), or none. */
  List<Op> extraReads();

  /**
   * The transaction that takes the oldest free item of {@code items} (key order), or null when none is free.
   * {@code extras} are the results of {@link #extraReads()}.
   */
  Take<T> first(List<KeyValue> items, List<GetResponse> extras);

  /** A range where a DELETE frees an item (a claim that ended), or null. */
  ByteSequence freedRange();

  /** Gives an item back that was taken for a caller who gave up before it was handed over. */
  CompletableFuture<Void> undo(T taken);

  /**
   * One taking transaction: its compares and operations, what the caller gets from its response ({@code null}:
   * nothing for the caller, e.g. the item was moved to the dead letters; the consumer goes on), and the key it
   * writes on the consumer's lease ({@code null}: none), deleted when the transaction's outcome is unknown.
   */
  record Take<T>(List<Compare> when, List<Op> then, Function<TxnResponse, T> result, ByteSequence leasedKey) {}
}
