package io.etcdrecipes.recipes.leasing;

import static io.etcdrecipes.testkit.Futures.get;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.DeleteOption;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.PutResponse;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The leasing KV's single behaviours against a real etcd: hits, revokes, plain writers, deletes, sessions. */
class LeasingKvTest {

  private static final Logger log = LoggerFactory.getLogger(LeasingKvTest.class);
  private static final Duration WAIT = Duration.ofSeconds(10);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(1).fastElections().unsafeNoFsync(true).build();

  /** A member that takes at most 16 operations per txn (etcd's default is 128). */
  @RegisterExtension
  static final EtcdClusterExtension fewOps = EtcdClusterExtension.builder()
      .members(1).unsafeNoFsync(true).flag("--max-txn-ops", "16").build();

  private final List<AutoCloseable> toClose = new ArrayList<>();
  private EtcdClient plain;
  /** Per-test key space and leasing prefix, so tests sharing the cluster do not meet. */
  private String ns;
  private String pfx;

  @BeforeEach
  void setUp(TestInfo info) {
    plain = client();
    ns = info.getTestMethod().orElseThrow().getName() + "/";
    pfx = "_lease/" + ns;
  }

  @AfterEach
  void tearDown() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
    plain.close();
  }

  private EtcdClient client() {
    EtcdClient c = EtcdClient.builder().endpoints(etcd.endpoints()).callTimeout(Duration.ofSeconds(5)).build();
    return c;
  }

  private LeasingKV leasing() throws InterruptedException {
    return leasing(LeasingKV.CachedReads.CONFIRMED);
  }

  private LeasingKV leasing(LeasingKV.CachedReads reads) throws InterruptedException {
    EtcdClient c = client();
    LeasingKV l = LeasingKV.builder(c, pfx).sessionTtl(Duration.ofSeconds(5))
        .revokeBackoff(Duration.ofMillis(200)).cachedReads(reads).build();
    toClose.add(c);
    toClose.add(l);
    return l;
  }

  private ByteSequence k(String name) {
    return ByteSequence.of(ns + name);
  }


  private static String value(GetResponse r) {
    return r.isEmpty() ? null : r.first().value().toStringUtf8();
  }

  private long plainPut(String key, String value) throws Exception {
    return get(plain.kv().put(k(key), ByteSequence.of(value))).header().revision();
  }

  private String plainValue(String key) throws Exception {
    return value(get(plain.kv().get(k(key))));
  }

  private List<KeyValue> leasingKeys() throws Exception {
    return get(plain.kv().get(ByteSequence.of(pfx), GetOption.prefix())).kvs();
  }

  @Test
  void aReadAcquiresTheKeyAndTheNextOnesHitTheCache() throws Exception {
    long rev = plainPut("a", "1");
    LeasingKV a = leasing();

    GetResponse first = get(a.get(k("a")));
    assertThat(value(first)).isEqualTo("1");
    assertThat(first.first().modRevision()).isEqualTo(rev);
    assertThat(a.misses()).isEqualTo(1);
    assertThat(a.isCached(k("a"))).isTrue();
    assertThat(leasingKeys()).singleElement().satisfies(l -> {
      assertThat(l.key().toStringUtf8()).isEqualTo(pfx + ns + "a");
      assertThat(l.lease()).isEqualTo(a.leaseId());
    });

    for (int i = 0; i < 100; i++) {
      GetResponse hit = get(a.get(k("a")));
      assertThat(value(hit)).isEqualTo("1");
      assertThat(hit.header().revision()).isEqualTo(first.header().revision());
    }
    assertThat(a.hits()).isEqualTo(100);
    assertThat(a.misses()).isEqualTo(1);

    // an own write is guarded by our leasing key, and the cache follows it
    PutResponse put = get(a.put(k("a"), ByteSequence.of("2")));
    GetResponse afterPut = get(a.get(k("a")));
    assertThat(value(afterPut)).isEqualTo("2");
    assertThat(afterPut.first().modRevision()).isEqualTo(put.header().revision());
    assertThat(afterPut.first().version()).isEqualTo(2);
    assertThat(afterPut.header().revision()).isEqualTo(put.header().revision());
    assertThat(a.hits()).isEqualTo(101);
    assertThat(plainValue("a")).isEqualTo("2");
    assertThat(a.isCached(k("a"))).isTrue();

    // an absent key is cached as absent
    assertThat(get(a.get(k("none"))).isEmpty()).isTrue();
    assertThat(get(a.get(k("none"))).isEmpty()).isTrue();
    assertThat(a.hits()).isEqualTo(102);

    // what is not cacheable goes to the server and counts as neither
    assertThat(get(a.get(k("a"), GetOption.builder().serializable().build())).count()).isEqualTo(1);
    assertThat(get(a.get(k(""), GetOption.prefix())).count()).isEqualTo(1);
    assertThat(a.hits()).isEqualTo(102);
    assertThat(a.misses()).isEqualTo(2);
  }

  @Test
  void anotherLeasingClientsPutRevokesTheOwnerAndItsNextReadSeesTheNewValue() throws Exception {
    plainPut("b", "1");
    LeasingKV owner = leasing();
    LeasingKV writer = leasing();
    assertThat(value(get(owner.get(k("b"))))).isEqualTo("1");
    assertThat(owner.isCached(k("b"))).isTrue();

    long t0 = System.nanoTime();
    PutResponse put = get(writer.put(k("b"), ByteSequence.of("2")));
    log.info("put through the REVOKE protocol took {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    // the owner gave the key up before the write could happen: no waiting needed here
    assertThat(owner.isCached(k("b"))).isFalse();
    GetResponse r = get(owner.get(k("b")));
    assertThat(value(r)).isEqualTo("2");
    assertThat(r.first().modRevision()).isEqualTo(put.header().revision());
    assertThat(writer.isCached(k("b"))).isFalse();

    // the writer may now read and acquire it; the old owner's next write revokes it back
    assertThat(value(get(writer.get(k("b"))))).isEqualTo("2");
    assertThat(writer.isCached(k("b"))).isTrue();
    get(owner.delete(k("b")));
    assertThat(writer.isCached(k("b"))).isFalse();
    assertThat(get(writer.get(k("b"))).isEmpty()).isTrue();

    // a transaction that writes the key revokes it too
    assertThat(value(get(owner.get(k("c"))))).isNull();
    assertThat(owner.isCached(k("c"))).isTrue();
    TxnResponse t = get(writer.txn().when(Compare.version(k("c")).equal(0))
        .then(Op.put(k("c"), ByteSequence.of("t"))).commit());
    assertThat(t.succeeded()).isTrue();
    assertThat(owner.isCached(k("c"))).isFalse();
    assertThat(value(get(owner.get(k("c"))))).isEqualTo("t");
  }

  @Test
  void confirmedReadsSeeAPlainPutAtOnce() throws Exception {
    plainPut("q", "1");
    LeasingKV a = leasing();
    assertThat(a.cachedReads()).isEqualTo(LeasingKV.CachedReads.CONFIRMED);
    assertThat(value(get(a.get(k("q"))))).isEqualTo("1");
    assertThat(a.isCached(k("q"))).isTrue();
    GetResponse hit = get(a.get(k("q")));
    assertThat(value(hit)).isEqualTo("1");
    assertThat(a.hits()).isEqualTo(1);
    assertThat(a.confirmations()).isEqualTo(1);

    // no waiting: the very next read after the plain put returned sees it
    for (int i = 2; i <= 50; i++) {
      long rev = plainPut("q", String.valueOf(i));
      GetResponse r = get(a.get(k("q")));
      assertThat(value(r)).isEqualTo(String.valueOf(i));
      assertThat(r.first().modRevision()).isEqualTo(rev);
      assertThat(r.header().revision()).isGreaterThanOrEqualTo(rev);
    }
    // a plain delete too, and an outside delete of the leasing key changes nothing a read returns
    get(plain.kv().delete(k("q")));
    assertThat(get(a.get(k("q"))).isEmpty()).isTrue();
    get(plain.kv().delete(ByteSequence.of(pfx + ns + "q")));
    assertThat(get(a.get(k("q"))).isEmpty()).isTrue();
  }

  @Test
  void concurrentConfirmedReadsShareConfirmations() throws Exception {
    // more keys than one confirmation transaction may hold (etcd's default --max-txn-ops)
    int n = ReadConfirmer.MAX_OPS_PER_TXN + 72;
    LeasingKV a = leasing();
    for (int i = 0; i < n; i++) {
      plainPut("k" + i, "v" + i);
      assertThat(value(get(a.get(k("k" + i))))).isEqualTo("v" + i);
    }
    assertThat(a.cachedKeys()).isEqualTo(n);
    long before = a.confirmations();
    List<CompletableFuture<GetResponse>> reads = new ArrayList<>();
    for (int round = 0; round < 5; round++) {
      for (int i = 0; i < n; i++) {
        reads.add(a.get(k("k" + i)));
      }
    }
    for (int i = 0; i < reads.size(); i++) {
      assertThat(value(get(reads.get(i)))).isEqualTo("v" + (i % n));
    }
    long confirmations = a.confirmations() - before;
    log.info("{} concurrent cached reads of {} keys were confirmed by {} batches", reads.size(), n, confirmations);
    assertThat(a.hits()).isEqualTo(reads.size());
    assertThat(confirmations).isBetween(1L, reads.size() / 10L);
  }

  @Test
  void confirmationsFitAServerThatTakesFewerOperationsPerTxn() throws Exception {
    try (EtcdClient c = EtcdClient.builder().endpoints(fewOps.endpoints()).callTimeout(Duration.ofSeconds(5)).build();
         LeasingKV a = LeasingKV.builder(c, pfx).sessionTtl(Duration.ofSeconds(5)).build()) {
      int n = 40;
      for (int i = 0; i < n; i++) {
        get(c.kv().put(k("f" + i), ByteSequence.of("v" + i)));
        assertThat(value(get(a.get(k("f" + i))))).isEqualTo("v" + i);
      }
      for (int round = 0; round < 3; round++) {
        List<CompletableFuture<GetResponse>> reads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          reads.add(a.get(k("f" + i)));
        }
        for (int i = 0; i < n; i++) {
          assertThat(value(get(reads.get(i)))).isEqualTo("v" + i);
        }
      }
      // every read was a confirmed hit: the confirmations were split to fit the server's limit
      assertThat(a.hits()).isEqualTo(3L * n);
      assertThat(a.misses()).isEqualTo(n);
      get(c.kv().delete(k(""), io.etcdrecipes.client.DeleteOption.prefix()));
    }
  }

  @Test
  void aPlainPutInvalidatesTheCacheWithinTheWatchDelay() throws Exception {
    plainPut("p", "1");
    LeasingKV a = leasing(LeasingKV.CachedReads.LOCAL);
    assertThat(value(get(a.get(k("p"))))).isEqualTo("1");
    assertThat(a.isCached(k("p"))).isTrue();

    long put = plainPut("p", "2");
    long done = System.nanoTime();
    await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(1))
        .until(() -> "2".equals(value(get(a.get(k("p"))))));
    log.info("a plain put was seen by the cached reader {} ms after it completed",
        TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - done) / 1000.0);
    assertThat(a.isCached(k("p"))).isFalse();
    // the leasing key was given up, so another client could take it
    await().atMost(WAIT).until(() -> leasingKeys().isEmpty());

    // after the backoff the key is acquired again, at the new value
    await().atMost(WAIT).until(() -> {
      get(a.get(k("p")));
      return a.isCached(k("p"));
    });
    GetResponse r = get(a.get(k("p")));
    assertThat(value(r)).isEqualTo("2");
    assertThat(r.first().modRevision()).isEqualTo(put);

    // deleting the leasing key from outside ends the caching too
    get(plain.kv().delete(ByteSequence.of(pfx + ns + "p")));
    await().atMost(Duration.ofSeconds(1)).until(() -> !a.isCached(k("p")));
  }

  @Test
  void deletesOfOwnAndOthersKeysAndRangeDeletes() throws Exception {
    for (String s : List.of("r1", "r2", "r3", "r4")) {
      plainPut(s, s);
    }
    LeasingKV a = leasing();
    LeasingKV b = leasing();
    for (String s : List.of("r1", "r2", "r3")) {
      assertThat(value(get(a.get(k(s))))).isEqualTo(s);
    }
    assertThat(value(get(b.get(k("r4"))))).isEqualTo("r4");
    assertThat(a.cachedKeys()).isEqualTo(3);
    assertThat(b.cachedKeys()).isEqualTo(1);

    // own delete: guarded, the cache says absent
    assertThat(get(a.delete(k("r1"))).deleted()).isEqualTo(1);
    assertThat(a.isCached(k("r1"))).isTrue();
    long hits = a.hits();
    assertThat(get(a.get(k("r1"))).isEmpty()).isTrue();
    assertThat(a.hits()).isEqualTo(hits + 1);
    assertThat(plainValue("r1")).isNull();

    // delete of a key the other client holds
    assertThat(get(a.delete(k("r4"))).deleted()).isEqualTo(1);
    assertThat(b.isCached(k("r4"))).isFalse();
    assertThat(get(b.get(k("r4"))).isEmpty()).isTrue();

    // a range delete by b revokes every leasing key in the range first
    plainPut("r4", "again");
    var del = get(b.delete(k("r"), DeleteOption.builder().prefix().prevKv().build()));
    assertThat(del.deleted()).isEqualTo(3); // r2, r3, r4
    assertThat(del.prevKvs()).extracting(kv -> kv.key().toStringUtf8())
        .containsExactly(ns + "r2", ns + "r3", ns + "r4");
    assertThat(a.isCached(k("r2"))).isFalse();
    assertThat(a.isCached(k("r3"))).isFalse();
    assertThat(get(a.get(k("r2"))).isEmpty()).isTrue();
    assertThat(get(a.get(k("r3"))).isEmpty()).isTrue();
    assertThat(get(plain.kv().get(k("r"), GetOption.prefix())).count()).isZero();

    // a range delete by the owner gives its own keys up too
    plainPut("s1", "x");
    assertThat(value(get(a.get(k("s1"))))).isEqualTo("x");
    assertThat(a.isCached(k("s1"))).isTrue();
    assertThat(get(a.delete(k("s"), DeleteOption.prefix())).deleted()).isEqualTo(1);
    assertThat(a.isCached(k("s1"))).isFalse();
    assertThat(get(a.get(k("s1"))).isEmpty()).isTrue();
  }

  @Test
  void losingTheSessionEmptiesTheCacheAndLaterReadsAreCorrect() throws Exception {
    plainPut("x", "1");
    plainPut("y", "1");
    LeasingKV a = leasing();
    assertThat(value(get(a.get(k("x"))))).isEqualTo("1");
    assertThat(value(get(a.get(k("y"))))).isEqualTo("1");
    assertThat(a.cachedKeys()).isEqualTo(2);
    long lease = a.leaseId();

    get(plain.lease().revoke(lease));
    long t0 = System.nanoTime();
    await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(5)).until(() -> a.cachedKeys() == 0);
    log.info("cache emptied {} ms after the lease was revoked", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    plainPut("x", "2");
    // the key's watch or the session notices at once; whatever is read now is the server's
    assertThat(value(get(a.get(k("x"))))).isEqualTo("2");
    await().atMost(Duration.ofSeconds(5)).until(() -> a.leaseId() != 0 && a.leaseId() != lease);
    log.info("new session {} after {} ms", Long.toHexString(a.leaseId()),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));

    // the new session caches again, and sees later writes
    await().atMost(WAIT).until(() -> {
      get(a.get(k("x")));
      return a.isCached(k("x"));
    });
    assertThat(leasingKeys()).allSatisfy(l -> assertThat(l.lease()).isEqualTo(a.leaseId()));
    assertThat(value(get(a.get(k("x"))))).isEqualTo("2");
    assertThat(value(get(a.get(k("y"))))).isEqualTo("1");
    LeasingKV b = leasing();
    get(b.put(k("x"), ByteSequence.of("3")));
    assertThat(value(get(a.get(k("x"))))).isEqualTo("3");
  }

  @Test
  void closeRemovesTheLeasingKeysAtOnce() throws Exception {
    plainPut("c1", "1");
    LeasingKV a = leasing();
    get(a.get(k("c1")));
    get(a.get(k("c2")));
    assertThat(leasingKeys()).hasSize(2);
    a.close();
    assertThat(leasingKeys()).isEmpty();
    assertThat(a.cachedKeys()).isZero();
    // a write by another leasing client waits for nobody now: it succeeds within a deadline well under the
    // closed client's 5 s session TTL (a leasing key left behind would make it fail with DEADLINE_EXCEEDED)
    LeasingKV b = leasing();
    get(b.withTimeout(Duration.ofSeconds(2)).put(k("c1"), ByteSequence.of("2")));
    assertThat(plainValue("c1")).isEqualTo("2");
  }

  @Test
  void whatCannotBeDoneIsRejectedClearly() throws Exception {
    LeasingKV a = leasing();
    ByteSequence underPrefix = ByteSequence.of(pfx + "k");
    assertThatThrownBy(() -> get(a.put(underPrefix, ByteSequence.of("x"))))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> get(a.delete(ByteSequence.of("_lease/"), DeleteOption.prefix())))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> get(a.txn().then(Op.put(underPrefix, ByteSequence.of("x"))).commit()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> get(a.txn().when(Compare.version(underPrefix).equal(0)).commit()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(leasingKeys()).isEmpty();
  }
}
