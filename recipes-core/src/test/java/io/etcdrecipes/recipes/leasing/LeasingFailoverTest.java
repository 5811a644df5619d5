package io.etcdrecipes.recipes.leasing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The leasing KV (default {@code CONFIRMED} reads) when etcd fails under it: the leader dies while a plain
 * client writes a cached key; the connection is cut for longer than the session TTL. Reads may fail while
 * there is no leader or no connection; whatever they return is never older than a completed write.
 */
class LeasingFailoverTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final ByteSequence KEY = ByteSequence.of("fo/k");

  @RegisterExtension
  final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections()
      .unsafeNoFsync(true).proxies(true).perTest().build();

  private EtcdClient proxiedClient() {
    return EtcdClient.builder().endpoints(String.join(",", etcd.proxiedEndpoints()))
        .callTimeout(Duration.ofSeconds(2)).build();
  }

  private EtcdClient plainClient() {
    return EtcdClient.builder().endpoints(etcd.endpoints()).callTimeout(Duration.ofSeconds(5)).build();
  }

  private static String value(GetResponse r) {
    return r.isEmpty() ? null : r.first().value().toStringUtf8();
  }

  /** A read that may fail (no leader, no connection): its value, or null when it failed. */
  private static String tryRead(LeasingKV l, List<String> seen) {
    try {
      String v = value(l.get(KEY).get(10, TimeUnit.SECONDS));
      seen.add(v);
      return v;
    } catch (Exception e) {
      return null;
    }
  }

  /** The key is "1", written by the plain client, and cached by {@code l}. */
  private static void cacheOne(EtcdClient plain, LeasingKV l) throws Exception {
    plain.kv().put(KEY, ByteSequence.of("1")).get(10, TimeUnit.SECONDS);
    assertThat(value(l.get(KEY).get(10, TimeUnit.SECONDS))).isEqualTo("1");
    assertThat(l.isCached(KEY)).isTrue();
  }

  @Test
  void confirmedReadsSeeAPlainWriteMadeWhileTheLeaderDied() throws Exception {
    try (EtcdClient c = proxiedClient(); EtcdClient plain = plainClient();
         LeasingKV l = LeasingKV.builder(c, "_fo/").sessionTtl(Duration.ofSeconds(3)).build()) {
      cacheOne(plain, l);

      EtcdMember leader = etcd.cluster().leader();
      leader.kill();
      // the plain write goes through once a new leader is elected (retried here: a put is not retried for us)
      await().atMost(WAIT).ignoreExceptions().until(() ->
          plain.kv().put(KEY, ByteSequence.of("2")).get(5, TimeUnit.SECONDS) != null);
      // from now on no read may return "1": each either fails or returns "2"
      List<String> seen = new CopyOnWriteArrayList<>();
      await().atMost(WAIT).until(() -> "2".equals(tryRead(l, seen)));
      leader.start();
      for (int i = 0; i < 20; i++) {
        tryRead(l, seen);
      }
      assertThat(seen).isNotEmpty().containsOnly("2");

      // it is cached again after the revoke backoff, and hits are confirmed against the new value
      await().atMost(WAIT).until(() -> {
        tryRead(l, seen);
        return l.isCached(KEY);
      });
      long hits = l.hits();
      assertThat(value(l.get(KEY).get(10, TimeUnit.SECONDS))).isEqualTo("2");
      assertThat(l.hits()).isEqualTo(hits + 1);
      assertThat(seen).containsOnly("2");
    }
  }

  @Test
  void aConnectionCutPastTheSessionTtlEmptiesTheCacheAndReadsRecover() throws Exception {
    try (EtcdClient c = proxiedClient(); EtcdClient plain = plainClient();
         LeasingKV l = LeasingKV.builder(c, "_fo/").sessionTtl(Duration.ofSeconds(2)).build()) {
      cacheOne(plain, l);
      long lease = l.leaseId();

      etcd.members().forEach(m -> m.proxy().blackhole());
      // the session is suspended at once (default policy: as good as lost): the cache is emptied
      await().atMost(WAIT).until(() -> l.cachedKeys() == 0);
      // past the TTL the server drops the lease, and our leasing key with it
      ByteSequence leasingKey = ByteSequence.of("_fo/fo/k");
      await().atMost(WAIT).until(() -> plain.kv().get(leasingKey).get(5, TimeUnit.SECONDS).isEmpty());
      plain.kv().put(KEY, ByteSequence.of("2")).get(10, TimeUnit.SECONDS);
      List<String> seen = new CopyOnWriteArrayList<>();
      assertThat(tryRead(l, seen)).as("no connection: the read fails").isNull();

      etcd.members().forEach(m -> m.proxy().heal());
      await().atMost(WAIT).until(() -> "2".equals(tryRead(l, seen)));
      assertThat(seen).containsOnly("2");
      // a new session, and the key is cached on its lease
      await().atMost(WAIT).until(() -> l.leaseId() != 0 && l.leaseId() != lease);
      await().atMost(WAIT).until(() -> {
        tryRead(l, seen);
        return l.isCached(KEY);
      });
      List<KeyValue> leasingKeys = plain.kv().get(ByteSequence.of("_fo/"), GetOption.prefix())
          .get(10, TimeUnit.SECONDS).kvs();
      assertThat(leasingKeys).singleElement().satisfies(k -> assertThat(k.lease()).isEqualTo(l.leaseId()));
      assertThat(seen).containsOnly("2");
    }
  }
}
