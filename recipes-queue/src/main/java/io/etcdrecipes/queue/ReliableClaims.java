package io.etcdrecipes.queue;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.recipes.Contender;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SequentialKey;
import io.etcdrecipes.recipes.SessionPolicy;
import io.etcdrecipes.recipes.internal.KeyCleanup;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Taking an item at least once: the item stays; a claim key {@code __name/claims/<suffix>} on the consumer's lease
 * hides it from the others, and {@code __name/deliveries/<suffix>} counts its deliveries (no lease: it outlives
 * consumers). One transaction, guarded by the item, the absence of a claim and the count read: a claim and its count
 * move together. An item delivered {@code maxDeliveries} times is moved instead — in one transaction — to the
 * dead-letter queue (see {@link #deadLetterKey}).
 */
final class ReliableClaims implements ClaimRule<Delivery> {

  private final QueueLayout layout;
  private final Session session;
  private final int maxDeliveries;
  private final ByteSequence deadLetter;

  ReliableClaims(QueueLayout layout, Session session, int maxDeliveries, ByteSequence deadLetter) {
    this.layout = layout;
    this.session = session;
    this.maxDeliveries = maxDeliveries;
    this.deadLetter = deadLetter;
  }

  @Override
  public List<Op> extraReads() {
    return List.of(Op.get(layout.claims, GetOption.builder().prefix().keysOnly().build()),
        Op.get(layout.deliveries, GetOption.builder().prefix().build()));
  }

  @Override
  public Take<Delivery> first(List<KeyValue> items, List<GetResponse> extras) {
    Set<ByteSequence> claimed = new HashSet<>();
    for (KeyValue c : extras.get(0).kvs()) {
      claimed.add(c.key().substring(layout.claims.size()));
    }
    Map<ByteSequence, KeyValue> counts = new HashMap<>();
    for (KeyValue d : extras.get(1).kvs()) {
      counts.put(d.key().substring(layout.deliveries.size()), d);
    }
    for (KeyValue kv : items) {
      ByteSequence suffix = layout.suffix(kv.key());
      if (claimed.contains(suffix)) {
        continue;
      }
      KeyValue count = counts.get(suffix);
      int delivered = count == null ? 0 : Integer.parseInt(count.value().toStringUtf8());
      long countRev = count == null ? 0 : count.modRevision();
      ByteSequence claimKey = layout.claimOf(kv.key());
      ByteSequence countKey = layout.deliveriesOf(kv.key());
      List<Compare> when = List.of(Compare.modRevision(kv.key()).equal(kv.modRevision()),
          Compare.createRevision(claimKey).equal(0), Compare.modRevision(countKey).equal(countRev));
      QueueItem item = QueueItem.of(layout.prefix.size(), kv.key(), kv.value());
      if (delivered >= maxDeliveries) {
        return new Take<>(when, List.of(Op.delete(kv.key()), Op.delete(countKey),
            Op.put(deadLetterKey(item, kv.createRevision()), kv.value())), r -> null, null);
      }
      int n = delivered + 1;
      long itemCreated = kv.createRevision();
      return new Take<>(when, List.of(Op.put(claimKey, ByteSequence.EMPTY, PutOption.lease(session.leaseId())),
          Op.put(countKey, ByteSequence.of(Integer.toString(n)))),
          r -> delivery(item, itemCreated, n, claimKey, r.header().revision()), claimKey);
    }
    return null;
  }

  /**
   * A dead letter's key: the item's create revision as its sequence number ({@code deadLetter/%016d}, or
   * {@code deadLetter/%05d/%016d} for a priority item). Not the item's own number: numbers start again at 0 once a
   * queue runs empty, and a later poison item would overwrite an earlier dead letter not yet read; create revisions
   * are never reused.
   */
  private ByteSequence deadLetterKey(QueueItem item, long createRevision) {
    ByteSequence parent = item.priority() < 0 ? deadLetter : deadLetter.concat(String.format("/%05d", item.priority()));
    return SequentialKey.keyOf(parent, createRevision);
  }

  private Delivery delivery(QueueItem item, long itemCreated, int n, ByteSequence claimKey, long revision) {
    Contender c = new Contender(claimKey, revision);
    AtomicBoolean acked = new AtomicBoolean();
    // an acked item's claim went with it: releasing it then only detaches it from the session (no request)
    Ownership claim = Ownership.startUnwatched(session, SessionPolicy.ONLY_LOST, c, revision,
        held -> acked.get() ? CompletableFuture.completedFuture(false)
            : KeyCleanup.deleteGuarded(session.client().kv(), session, c, () -> { }));
    return new Delivery(session, layout, item, itemCreated, n, claim, acked);
  }

  @Override
  public ByteSequence freedRange() {
    return layout.claims;
  }

  @Override
  public CompletableFuture<Void> undo(Delivery taken) {
    return taken.releaseAsync().handle((b, e) -> null);
  }
}
