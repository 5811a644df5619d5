package io.etcdrecipes.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcdrecipes.testkit.EtcdClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Bad input, compaction, namespaces and the paging iterator. */
class KvEdgeTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  static EtcdClient client;

  @BeforeAll
  static void open() {
    client = EtcdClient.builder().endpoints(etcd.endpoints()).build();
  }

  @AfterAll
  static void close() {
    client.close();
  }


  static long revision() throws Exception {
    return client.kv().get(ByteSequence.of("any")).get(10, TimeUnit.SECONDS).header().revision();
  }

  @Test
  void emptyKeyIsRejectedBeforeSendingAndNothingIsWritten() throws Exception {
    long before = revision();
    assertThatThrownBy(() -> client.kv().put(ByteSequence.EMPTY, ByteSequence.of("v")).get(10, TimeUnit.SECONDS))
        .cause().isInstanceOf(EmptyKeyException.class).hasMessageContaining("key is not provided");
    assertThatThrownBy(() -> client.kv().get(ByteSequence.EMPTY).get(10, TimeUnit.SECONDS))
        .cause().isInstanceOf(EmptyKeyException.class);
    assertThatThrownBy(() -> client.kv().delete(ByteSequence.EMPTY).get(10, TimeUnit.SECONDS))
        .cause().isInstanceOf(EmptyKeyException.class);
    assertThat(revision()).isEqualTo(before);
  }

  @Test
  void tooLargeValueIsATypedErrorOnBothSidesAndNothingIsWritten() throws Exception {
    long before = revision();
    // above the client's 2 MiB send limit: rejected before sending
    ByteSequence huge = ByteSequence.of(new byte[3 * 1024 * 1024]);
    assertThatThrownBy(() -> client.kv().put(ByteSequence.of("big/a"), huge).get(10, TimeUnit.SECONDS))
        .cause().isInstanceOf(RequestTooLargeException.class).hasMessageContaining("nothing was sent");
    // under the client's limit but above the server's 1.5 MiB default: the server's typed error
    ByteSequence large = ByteSequence.of(new byte[1800 * 1024]);
    assertThatThrownBy(() -> client.kv().put(ByteSequence.of("big/b"), large).get(10, TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(RequestTooLargeException.class,
            e -> assertThat(e.serverError()).isEqualTo(ServerError.REQUEST_TOO_LARGE));
    assertThat(revision()).isEqualTo(before);
    assertThat(client.kv().get(ByteSequence.of("big/"), GetOption.prefix()).get(10, TimeUnit.SECONDS).count()).isZero();
  }

  @Test
  void negativeArgumentsFailInTheBuilder() {
    assertThatThrownBy(() -> GetOption.builder().limit(-1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("limit");
    assertThatThrownBy(() -> GetOption.builder().revision(-5)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> client.lease().grant(0).get(10, TimeUnit.SECONDS))
        .cause().isInstanceOf(IllegalArgumentException.class).hasMessageContaining("TTL");
    assertThatThrownBy(() -> EtcdClient.builder().build()).isInstanceOf(NoEndpointsException.class);
    assertThatThrownBy(() -> EtcdClient.builder().endpoints("ftp://x:1")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("scheme");
  }

  @Test
  void compactionMakesOldRevisionsUnreadable() throws Exception {
    long r1 = client.kv().put("cmp/a", "1").get(10, TimeUnit.SECONDS).header().revision();
    long r2 = client.kv().put("cmp/a", "2").get(10, TimeUnit.SECONDS).header().revision();
    client.kv().compact(r2, true).get(10, TimeUnit.SECONDS);
    assertThatThrownBy(() -> client.kv().get(ByteSequence.of("cmp/a"), GetOption.builder().revision(r1).build()).get(10, TimeUnit.SECONDS))
        .cause().isInstanceOf(CompactedException.class);
    assertThat(client.kv().get(ByteSequence.of("cmp/a"), GetOption.builder().revision(r2).build()).get(10, TimeUnit.SECONDS)
        .first().value().toStringUtf8()).isEqualTo("2");
    assertThatThrownBy(() -> client.kv().get(ByteSequence.of("cmp/a"), GetOption.builder().revision(r2 + 1000).build()).get(10, TimeUnit.SECONDS))
        .cause().isInstanceOf(FutureRevisionException.class);
    client.kv().delete("cmp/a").get(10, TimeUnit.SECONDS);
  }

  @Test
  void namespaceIsAppliedToKeysRangesComparesAndResponses() throws Exception {
    try (EtcdClient ns = EtcdClient.builder().endpoints(etcd.endpoints()).namespace("tenant1/").build()) {
      ns.kv().put("a", "1").get(10, TimeUnit.SECONDS);
      ns.kv().put("b", "2").get(10, TimeUnit.SECONDS);
      client.kv().put("tenant2/a", "other").get(10, TimeUnit.SECONDS);
      assertThat(client.kv().get("tenant1/a").get(10, TimeUnit.SECONDS).first().value().toStringUtf8()).isEqualTo("1");
      GetResponse all = ns.kv().get(ByteSequence.EMPTY, GetOption.prefix()).get(10, TimeUnit.SECONDS);
      assertThat(all.kvs()).extracting(kv -> kv.key().toStringUtf8()).containsExactly("a", "b");
      GetResponse fromKey = ns.kv().get(ByteSequence.of("b"), GetOption.builder().fromKey().build()).get(10, TimeUnit.SECONDS);
      assertThat(fromKey.kvs()).extracting(kv -> kv.key().toStringUtf8()).containsExactly("b");
      TxnResponse t = ns.kv().txn().when(Compare.value(ByteSequence.of("a")).equal("1"))
          .then(Op.put(ByteSequence.of("c"), ByteSequence.of("3"), PutOption.builder().prevKv().build()), Op.get(ByteSequence.of("a"))).commit().get(10, TimeUnit.SECONDS);
      assertThat(t.succeeded()).isTrue();
      assertThat(t.getResponse(1).first().key().toStringUtf8()).isEqualTo("a");
      assertThat(client.kv().get("tenant1/c").get(10, TimeUnit.SECONDS).kvs()).hasSize(1);
      DeleteResponse d = ns.kv().delete(ByteSequence.EMPTY, DeleteOption.builder().prefix().prevKv().build()).get(10, TimeUnit.SECONDS);
      assertThat(d.prevKvs()).extracting(kv -> kv.key().toStringUtf8()).containsExactly("a", "b", "c");
      assertThat(client.kv().get("tenant2/a").get(10, TimeUnit.SECONDS).kvs()).hasSize(1);
      client.kv().delete("tenant2/a").get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void pagingIteratorReadsOneSnapshotPageByPage() throws Exception {
    int n = 2_500;
    List<CompletableFuture<PutResponse>> puts = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      puts.add(client.kv().put(String.format("page/%05d", i), "v" + i));
    }
    CompletableFuture.allOf(puts.toArray(new CompletableFuture[0])).get(60, TimeUnit.SECONDS);
    RangeIterator it = client.kv().iterate(ByteSequence.of("page/"), GetOption.prefix(), 100);
    int seen = 0;
    String last = "";
    while (it.hasNext()) {
      KeyValue kv = it.next();
      if (seen == 0) {
        // written after the first page: must not appear, the walk reads one snapshot
        client.kv().put("page/99999", "late").get(10, TimeUnit.SECONDS);
        client.kv().delete("page/02000").get(10, TimeUnit.SECONDS);
      }
      assertThat(kv.key().toStringUtf8()).isGreaterThan(last);
      last = kv.key().toStringUtf8();
      seen++;
    }
    assertThat(seen).isEqualTo(n);
    assertThat(last).isEqualTo("page/02499");
    assertThat(it.revision()).isPositive();
    client.kv().delete(ByteSequence.of("page/"), DeleteOption.prefix()).get(30, TimeUnit.SECONDS);
  }
}
