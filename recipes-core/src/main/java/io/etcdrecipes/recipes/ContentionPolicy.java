package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;

import java.util.List;
import java.util.Objects;

/**
 * Given my key, do I own, or what do I wait for? (Curator's {@code getsTheLock}.) A recipe describes its queue
 * discipline with this and nothing else; the {@link Contention} driver runs the wait loop every recipe shares.
 *
 * <p>A mutex: read the youngest key older than mine; own if there is none, else await its delete. A reader of a
 * read-write lock: the same over the writers only. A semaphore of N: count the keys older than mine; own if fewer
 * than N, else await the delete of any older key (if I am first in line) or a change of my predecessor.
 */
public interface ContentionPolicy {

  /**
   * The reads that decide {@code me}'s turn. The driver runs them in one read-only transaction, at one revision,
   * together with a read of {@code me}'s own key (which must still exist with its create revision).
   */
  List<Op> reads(Contender me);

  /** {@code me}'s turn, from the results of {@link #reads} (in the same order). */
  Turn decide(Contender me, List<GetResponse> results);

  /**
   * The oldest key under {@code range} (a raw byte prefix, e.g. {@link Keys#ownerPrefix}) owns; every other
   * contender waits for the delete of the youngest key older than itself (Go's {@code Mutex} and {@code Election}).
   */
  static ContentionPolicy oldestOwns(ByteSequence range) {
    Objects.requireNonNull(range, "range");
    return new ContentionPolicy() {
      @Override
      public List<Op> reads(Contender me) {
        return List.of(youngestOlder(range, me));
      }

      @Override
      public Turn decide(Contender me, List<GetResponse> results) {
        KeyValue ahead = results.get(0).first();
        return ahead == null ? Turn.owns() : Turn.awaitDelete(ahead.key());
      }

      @Override
      public String toString() {
        return "oldestOwns(" + range.toStringUtf8() + ")";
      }
    };
  }

  /** A read of the youngest key under {@code range} created before {@code me} (keys only). */
  static Op youngestOlder(ByteSequence range, Contender me) {
    return Op.get(range, GetOption.lastCreate().toBuilder().keysOnly().maxCreateRevision(me.createRevision() - 1)
        .build());
  }
}
