package io.etcdrecipes.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Etcdctl;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Every KV option on a prepared key set, checked against etcdctl where etcdctl has the flag, and against
 * the prepared revisions where it has not.
 */
class KvTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  static EtcdClient client;
  static Etcdctl etcdctl;
  /** key -> [createRevision, modRevision] of the prepared set. */
  static final Map<String, long[]> revs = new HashMap<>();
  static long revisionAfterFirstRound;

  @BeforeAll
  static void prepare() throws Exception {
    client = EtcdClient.builder().endpoints(etcd.endpoints()).build();
    etcdctl = new Etcdctl(etcd.endpoints());
    // kv/a..kv/j, created in a scrambled order, then every third one modified, so key order, create
    // order and mod order all differ; values sort differently from keys.
    String order = "dhbjafcgie";
    for (char c : order.toCharArray()) {
      String key = "kv/" + c;
      long rev = put(key, "v" + (char) ('z' - (c - 'a')));
      revs.put(key, new long[] {rev, rev});
    }
    revisionAfterFirstRound = revs.values().stream().mapToLong(r -> r[1]).max().orElseThrow();
    for (char c : "jgda".toCharArray()) {
      String key = "kv/" + c;
      long rev = put(key, "v" + (char) ('z' - (c - 'a')) + "2");
      revs.get(key)[1] = rev;
    }
    put("kw/outside", "x");
  }

  @AfterAll
  static void cleanup() throws Exception {
    client.kv().delete(ByteSequence.of("k"), DeleteOption.prefix()).get(10, TimeUnit.SECONDS);
    client.close();
  }

  static long put(String key, String value) throws Exception {
    return client.kv().put(key, value).get(10, TimeUnit.SECONDS).header().revision();
  }


  static List<String> keys(String key, GetOption option) throws Exception {
    return client.kv().get(ByteSequence.of(key), option).get(10, TimeUnit.SECONDS).kvs().stream()
        .map(kv -> kv.key().toStringUtf8()).collect(Collectors.toList());
  }

  @Test
  void singleKeyAndMissingKey() throws Exception {
    GetResponse r = client.kv().get("kv/a").get(10, TimeUnit.SECONDS);
    assertThat(r.kvs()).hasSize(1);
    KeyValue kv = r.first();
    assertThat(kv.key().toStringUtf8()).isEqualTo("kv/a");
    assertThat(kv.value().toStringUtf8()).isEqualTo("vz2");
    assertThat(kv.createRevision()).isEqualTo(revs.get("kv/a")[0]);
    assertThat(kv.modRevision()).isEqualTo(revs.get("kv/a")[1]);
    assertThat(kv.version()).isEqualTo(2);
    assertThat(r.count()).isEqualTo(1);
    assertThat(client.kv().get("kv/none").get(10, TimeUnit.SECONDS).kvs()).isEmpty();
  }

  @Test
  void prefixRangeFromKeyAndLimitMatchEtcdctl() throws Exception {
    assertThat(keys("kv/", GetOption.prefix())).isEqualTo(etcdctl.keys("kv/", "--prefix")).hasSize(10);
    assertThat(keys("kv/c", GetOption.builder().range(ByteSequence.of("kv/g")).build()))
        .isEqualTo(etcdctl.keys("kv/c", "kv/g")).containsExactly("kv/c", "kv/d", "kv/e", "kv/f");
    assertThat(keys("kv/h", GetOption.builder().range(ByteSequence.of("kv/~")).build()))
        .isEqualTo(etcdctl.keys("kv/h", "kv/~")).containsExactly("kv/h", "kv/i", "kv/j");
    assertThat(keys("kv/h", GetOption.builder().fromKey().build()))
        .isEqualTo(etcdctl.keys("kv/h", "--from-key")).startsWith("kv/h", "kv/i", "kv/j", "kw/outside");
    assertThat(keys("kv/", GetOption.builder().prefix().limit(3).build()))
        .isEqualTo(etcdctl.keys("kv/", "--prefix", "--limit", "3"));
    GetResponse limited = client.kv().get(ByteSequence.of("kv/"), GetOption.builder().prefix().limit(3).build()).get(10, TimeUnit.SECONDS);
    assertThat(limited.more()).isTrue();
    assertThat(limited.count()).isEqualTo(10);
    // an empty key with prefix means every key
    assertThat(keys("", GetOption.prefix())).containsAll(keys("kv/", GetOption.prefix())).contains("kw/outside");
  }

  @Test
  void sortByEveryTargetAndOrderMatchesEtcdctl() throws Exception {
    Map<SortTarget, String> flag = Map.of(SortTarget.KEY, "KEY", SortTarget.VERSION, "VERSION",
        SortTarget.CREATE, "CREATE", SortTarget.MOD, "MODIFY", SortTarget.VALUE, "VALUE");
    for (SortTarget target : SortTarget.values()) {
      for (SortOrder order : List.of(SortOrder.ASCEND, SortOrder.DESCEND)) {
        List<String> ours = keys("kv/", GetOption.builder().prefix().sort(target, order).build());
        List<String> theirs = etcdctl.keys("kv/", "--prefix", "--sort-by", flag.get(target), "--order", order.name());
        if (target == SortTarget.VERSION) {
          // ties in version have no defined order: compare as groups
          assertThat(ours).as("%s %s", target, order).containsExactlyInAnyOrderElementsOf(theirs);
        } else {
          assertThat(ours).as("%s %s", target, order).isEqualTo(theirs);
        }
      }
    }
    assertThat(keys("kv/", GetOption.builder().prefix().sort(SortTarget.CREATE, SortOrder.ASCEND).build()))
        .containsExactly("kv/d", "kv/h", "kv/b", "kv/j", "kv/a", "kv/f", "kv/c", "kv/g", "kv/i", "kv/e");
  }

  @Test
  void revisionSerializableKeysOnlyCountOnlyMatchEtcdctl() throws Exception {
    GetOption atRev = GetOption.builder().prefix().revision(revisionAfterFirstRound).build();
    assertThat(keys("kv/", atRev)).isEqualTo(etcdctl.keys("kv/", "--prefix", "--rev", Long.toString(revisionAfterFirstRound)));
    KeyValue old = client.kv().get(ByteSequence.of("kv/a"), GetOption.builder().revision(revisionAfterFirstRound).build())
        .get(10, TimeUnit.SECONDS).first();
    assertThat(old.value().toStringUtf8()).isEqualTo("vz");
    assertThat(old.version()).isEqualTo(1);

    assertThat(keys("kv/", GetOption.builder().prefix().serializable().build()))
        .isEqualTo(etcdctl.keys("kv/", "--prefix", "--consistency", "s"));

    GetResponse keysOnly = client.kv().get(ByteSequence.of("kv/"), GetOption.builder().prefix().keysOnly().build()).get(10, TimeUnit.SECONDS);
    assertThat(keysOnly.kvs()).allSatisfy(kv -> assertThat(kv.value().isEmpty()).isTrue());
    assertThat(keysOnly.kvs().stream().map(kv -> kv.key().toStringUtf8()))
        .containsExactlyElementsOf(etcdctl.keys("kv/", "--prefix", "--keys-only"));

    GetResponse count = client.kv().get(ByteSequence.of("kv/"), GetOption.builder().prefix().countOnly().build()).get(10, TimeUnit.SECONDS);
    assertThat(count.kvs()).isEmpty();
    assertThat(count.count()).isEqualTo(etcdctl.count("kv/", "--prefix", "--keys-only")).isEqualTo(10);
  }

  @Test
  void minMaxModAndCreateRevisionFilters() throws Exception {
    long mid = revs.get("kv/a")[0];
    List<String> expectedMinCreate = revs.entrySet().stream().filter(e -> e.getValue()[0] >= mid)
        .map(Map.Entry::getKey).sorted().collect(Collectors.toList());
    assertThat(keys("kv/", GetOption.builder().prefix().minCreateRevision(mid).build())).isEqualTo(expectedMinCreate);
    List<String> expectedMaxCreate = revs.entrySet().stream().filter(e -> e.getValue()[0] <= mid)
        .map(Map.Entry::getKey).sorted().collect(Collectors.toList());
    assertThat(keys("kv/", GetOption.builder().prefix().maxCreateRevision(mid).build())).isEqualTo(expectedMaxCreate);
    List<String> modified = revs.entrySet().stream().filter(e -> e.getValue()[1] > revisionAfterFirstRound)
        .map(Map.Entry::getKey).sorted().collect(Collectors.toList());
    assertThat(keys("kv/", GetOption.builder().prefix().minModRevision(revisionAfterFirstRound + 1).build()))
        .isEqualTo(modified).containsExactly("kv/a", "kv/d", "kv/g", "kv/j");
    assertThat(keys("kv/", GetOption.builder().prefix().maxModRevision(revisionAfterFirstRound).build()))
        .containsExactly("kv/b", "kv/c", "kv/e", "kv/f", "kv/h", "kv/i");
  }

  @Test
  void firstAndLastHelpers() throws Exception {
    assertThat(keys("kv/", GetOption.firstKey())).containsExactly("kv/a");
    assertThat(keys("kv/", GetOption.lastKey())).containsExactly("kv/j");
    assertThat(keys("kv/", GetOption.firstCreate())).containsExactly("kv/d");
    assertThat(keys("kv/", GetOption.lastCreate())).containsExactly("kv/e");
    assertThat(keys("kv/", GetOption.firstRevision())).containsExactly("kv/h");
    assertThat(keys("kv/", GetOption.lastRevision())).containsExactly("kv/a");
  }

  @Test
  void putOptions() throws Exception {
    PutResponse first = client.kv().put(ByteSequence.of("kp/x"), ByteSequence.of("1"), PutOption.builder().prevKv().build()).get(10, TimeUnit.SECONDS);
    assertThat(first.prevKv()).isNull();
    PutResponse second = client.kv().put(ByteSequence.of("kp/x"), ByteSequence.of("2"), PutOption.builder().prevKv().build()).get(10, TimeUnit.SECONDS);
    assertThat(second.prevKv().value().toStringUtf8()).isEqualTo("1");

    long lease = client.lease().grant(60).get(10, TimeUnit.SECONDS).id();
    client.kv().put(ByteSequence.of("kp/x"), ByteSequence.of("3"), PutOption.lease(lease)).get(10, TimeUnit.SECONDS);
    assertThat(client.kv().get("kp/x").get(10, TimeUnit.SECONDS).first().lease()).isEqualTo(lease);

    // ignoreLease keeps the lease; ignoreValue keeps the value
    client.kv().put(ByteSequence.of("kp/x"), ByteSequence.of("4"), PutOption.builder().ignoreLease().build()).get(10, TimeUnit.SECONDS);
    KeyValue kv = client.kv().get("kp/x").get(10, TimeUnit.SECONDS).first();
    assertThat(kv.value().toStringUtf8()).isEqualTo("4");
    assertThat(kv.lease()).isEqualTo(lease);
    client.kv().put(ByteSequence.of("kp/x"), ByteSequence.EMPTY, PutOption.builder().ignoreValue().lease(0).build()).get(10, TimeUnit.SECONDS);
    kv = client.kv().get("kp/x").get(10, TimeUnit.SECONDS).first();
    assertThat(kv.value().toStringUtf8()).isEqualTo("4");
    assertThat(kv.lease()).isZero();
    // ignoreValue on a missing key is the server's "key not found"
    assertThatThrownBy(() -> client.kv().put(ByteSequence.of("kp/missing"), ByteSequence.EMPTY,
        PutOption.builder().ignoreValue().build()).get(10, TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(EtcdException.class,
            e -> assertThat(e.serverError()).isEqualTo(ServerError.KEY_NOT_FOUND));
    client.lease().revoke(lease).get(10, TimeUnit.SECONDS);
  }

  @Test
  void deleteOptions() throws Exception {
    // '~' sorts after every key the other tests use, so the from-key delete below touches only these
    for (String k : List.of("~kd/a", "~kd/b", "~kd/c", "~kd/d", "~kd/e", "~kd/f")) {
      put(k, k + "-v");
    }
    DeleteResponse one = client.kv().delete(ByteSequence.of("~kd/a"), DeleteOption.builder().prevKv().build()).get(10, TimeUnit.SECONDS);
    assertThat(one.deleted()).isEqualTo(1);
    assertThat(one.prevKvs()).extracting(kv -> kv.value().toStringUtf8()).containsExactly("~kd/a-v");
    DeleteResponse range = client.kv().delete(ByteSequence.of("~kd/b"), DeleteOption.builder().range(ByteSequence.of("~kd/d")).build()).get(10, TimeUnit.SECONDS);
    assertThat(range.deleted()).isEqualTo(2);
    assertThat(range.prevKvs()).isEmpty();
    DeleteResponse fromKey = client.kv().delete(ByteSequence.of("~kd/e"), DeleteOption.builder().fromKey().prevKv().build()).get(10, TimeUnit.SECONDS);
    assertThat(fromKey.prevKvs()).extracting(kv -> kv.key().toStringUtf8()).containsExactly("~kd/e", "~kd/f");
    DeleteResponse prefix = client.kv().delete(ByteSequence.of("~kd/"), DeleteOption.prefix()).get(10, TimeUnit.SECONDS);
    assertThat(prefix.deleted()).isEqualTo(1);
    assertThat(client.kv().get(ByteSequence.of("~kd/"), GetOption.prefix()).get(10, TimeUnit.SECONDS).kvs()).isEmpty();
  }
}
