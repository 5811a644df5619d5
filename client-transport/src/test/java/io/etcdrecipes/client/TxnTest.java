package io.etcdrecipes.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcdrecipes.testkit.EtcdClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;
import java.util.concurrent.TimeUnit;

/** Transactions: every compare target and result, range and prefix compares, every op, nesting. */
class TxnTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  static EtcdClient client;
  static KeyValue x;
  static long lease;

  @BeforeAll
  static void prepare() throws Exception {
    client = EtcdClient.builder().endpoints(etcd.endpoints()).build();
    lease = client.lease().grant(120).get(10, TimeUnit.SECONDS).id();
    client.kv().put(ByteSequence.of("tx/x"), ByteSequence.of("m"), PutOption.lease(lease)).get(10, TimeUnit.SECONDS);
    client.kv().put(ByteSequence.of("tx/x"), ByteSequence.of("m"), PutOption.builder().ignoreLease().build()).get(10, TimeUnit.SECONDS);
    client.kv().put("tx/y", "b").get(10, TimeUnit.SECONDS);
    x = client.kv().get("tx/x").get(10, TimeUnit.SECONDS).first();
  }

  @AfterAll
  static void cleanup() throws Exception {
    client.lease().revoke(lease).get(10, TimeUnit.SECONDS);
    client.kv().delete(ByteSequence.of("tx/"), DeleteOption.prefix()).get(10, TimeUnit.SECONDS);
    client.close();
  }


  static boolean holds(Compare c) throws Exception {
    return client.kv().txn().when(c).commit().get(10, TimeUnit.SECONDS).succeeded();
  }

  @Test
  void everyTargetAndResult() throws Exception {
    ByteSequence k = ByteSequence.of("tx/x");
    assertThat(x.version()).isEqualTo(2);
    // value "m"
    assertThat(holds(Compare.value(k).equal("m"))).isTrue();
    assertThat(holds(Compare.value(k).notEqual(ByteSequence.of("n")))).isTrue();
    assertThat(holds(Compare.value(k).greater(ByteSequence.of("a")))).isTrue();
    assertThat(holds(Compare.value(k).less(ByteSequence.of("z")))).isTrue();
    assertThat(holds(Compare.value(k).less(ByteSequence.of("a")))).isFalse();
    // version 2
    assertThat(holds(Compare.version(k).equal(2))).isTrue();
    assertThat(holds(Compare.version(k).greater(1))).isTrue();
    assertThat(holds(Compare.version(k).less(2))).isFalse();
    assertThat(holds(Compare.version(k).notEqual(3))).isTrue();
    // revisions
    assertThat(holds(Compare.createRevision(k).equal(x.createRevision()))).isTrue();
    assertThat(holds(Compare.createRevision(k).less(x.modRevision()))).isTrue();
    assertThat(holds(Compare.modRevision(k).equal(x.modRevision()))).isTrue();
    assertThat(holds(Compare.modRevision(k).greater(x.modRevision()))).isFalse();
    // lease
    assertThat(holds(Compare.lease(k).equal(lease))).isTrue();
    assertThat(holds(Compare.lease(ByteSequence.of("tx/y")).equal(0))).isTrue();
    // clientv3util helpers
    assertThat(holds(Compare.keyExists(k))).isTrue();
    assertThat(holds(Compare.keyMissing(k))).isFalse();
    assertThat(holds(Compare.keyMissing(ByteSequence.of("tx/none")))).isTrue();
  }

  @Test
  void rangeAndPrefixCompares() throws Exception {
    long first = client.kv().put("tx/r/a", "m").get(10, TimeUnit.SECONDS).header().revision();
    client.kv().put("tx/r/b", "q").get(10, TimeUnit.SECONDS);
    // a range compare holds when it holds for every key in the range
    assertThat(holds(Compare.version(ByteSequence.of("tx/r/")).withPrefix().greater(0))).isTrue();
    assertThat(holds(Compare.createRevision(ByteSequence.of("tx/r/")).withPrefix().less(first + 1))).isFalse();
    assertThat(holds(Compare.createRevision(ByteSequence.of("tx/r/")).withPrefix().greater(first - 1))).isTrue();
    assertThat(holds(Compare.value(ByteSequence.of("tx/r/a")).withRange(ByteSequence.of("tx/r/z")).greater(ByteSequence.of("a")))).isTrue();
    assertThat(holds(Compare.value(ByteSequence.of("tx/r/a")).withRange(ByteSequence.of("tx/r/z")).equal("m"))).isFalse();
  }

  @Test
  void thenAndElseBranchesWithEveryOpAndNesting() throws Exception {
    TxnResponse r = client.kv().txn()
        .when(Compare.value(ByteSequence.of("tx/x")).equal("m"))
        .then(Op.get(ByteSequence.of("tx/x")), Op.put(ByteSequence.of("tx/n1"), ByteSequence.of("1"), PutOption.builder().prevKv().build()),
            Op.delete(ByteSequence.of("tx/y"), DeleteOption.builder().prevKv().build()),
            Op.txn(List.of(Compare.keyMissing(ByteSequence.of("tx/y"))), List.of(Op.put(ByteSequence.of("tx/n3"), ByteSequence.of("3"))),
                List.of(Op.put(ByteSequence.of("tx/n2"), ByteSequence.of("2")))))
        .orElse(Op.put(ByteSequence.of("tx/else"), ByteSequence.of("x")))
        .commit().get(10, TimeUnit.SECONDS);
    assertThat(r.succeeded()).isTrue();
    assertThat(r.responses()).hasSize(4);
    assertThat(r.getResponse(0).first().value().toStringUtf8()).isEqualTo("m");
    assertThat(r.putResponse(1).prevKv()).isNull();
    assertThat(r.deleteResponse(2).deleted()).isEqualTo(1);
    assertThat(r.deleteResponse(2).prevKvs().get(0).value().toStringUtf8()).isEqualTo("b");
    // etcd evaluates every compare, nested ones too, before applying any op: the nested txn still sees
    // tx/y and takes its else branch
    assertThat(r.txnResponse(3).succeeded()).isFalse();
    assertThat(r.txnResponse(3).putResponse(0).header().revision()).isEqualTo(r.header().revision());
    assertThat(client.kv().get("tx/n2").get(10, TimeUnit.SECONDS).first().value().toStringUtf8()).isEqualTo("2");
    assertThat(client.kv().get("tx/n3").get(10, TimeUnit.SECONDS).kvs()).isEmpty();
    assertThat(client.kv().get("tx/else").get(10, TimeUnit.SECONDS).kvs()).isEmpty();

    TxnResponse failed = client.kv().txn().when(Compare.value(ByteSequence.of("tx/x")).equal("other"))
        .then(Op.put(ByteSequence.of("tx/then"), ByteSequence.of("x"))).orElse(Op.get(ByteSequence.of("tx/n1")))
        .commit().get(10, TimeUnit.SECONDS);
    assertThat(failed.succeeded()).isFalse();
    assertThat(failed.getResponse(0).first().value().toStringUtf8()).isEqualTo("1");
    assertThat(client.kv().get("tx/then").get(10, TimeUnit.SECONDS).kvs()).isEmpty();
  }

  @Test
  void builderRulesFollowGo() {
    assertThatThrownBy(() -> client.kv().txn().then().when()).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> client.kv().txn().when().when()).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> client.kv().txn().orElse().then()).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> Compare.value(ByteSequence.of("k")).equal(1)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void duplicateKeyInTxnIsTheServersTypedError() {
    assertThatThrownBy(() -> client.kv().txn()
        .then(Op.put(ByteSequence.of("tx/d"), ByteSequence.of("1")), Op.put(ByteSequence.of("tx/d"), ByteSequence.of("2"))).commit().get(10, TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(EtcdException.class, e -> {
          assertThat(e.serverError()).isEqualTo(ServerError.DUPLICATE_KEY);
          assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
        });
  }
}
