package io.etcdrecipes.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcdrecipes.testkit.EtcdClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

class SmokeTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).build();

  @Test
  void putGetWatchLease() throws Exception {
    try (EtcdClient client = EtcdClient.builder().endpoints(etcd.endpoints()).build()) {
      PutResponse put = client.kv().put("smoke/a", "1").get(10, TimeUnit.SECONDS);
      assertThat(put.header().revision()).isPositive();
      GetResponse get = client.kv().get("smoke/a").get(10, TimeUnit.SECONDS);
      assertThat(get.first().value().toStringUtf8()).isEqualTo("1");

      List<WatchEvent> events = new CopyOnWriteArrayList<>();
      Watcher w = client.watch().watch(ByteSequence.of("smoke/"), WatchOption.prefix(), r -> events.addAll(r.events()));
      w.created().get(10, TimeUnit.SECONDS);
      client.kv().put("smoke/b", "2").get(10, TimeUnit.SECONDS);
      await().atMost(10, TimeUnit.SECONDS).until(() -> events.size() == 1);
      w.close();

      LeaseGrantResponse lease = client.lease().grant(5).get(10, TimeUnit.SECONDS);
      List<LeaseKeepAliveResponse> renewals = new CopyOnWriteArrayList<>();
      KeepAlive ka = client.lease().keepAlive(lease.id(), new KeepAliveListener() {
        @Override
        public void onRenewed(LeaseKeepAliveResponse r) {
          renewals.add(r);
        }

        @Override
        public void onLost(EtcdException cause) {}
      });
      await().atMost(10, TimeUnit.SECONDS).until(() -> !renewals.isEmpty());
      ka.close();
      assertThat(client.lease().keepAliveOnce(lease.id()).get(10, TimeUnit.SECONDS).ttl()).isPositive();
    }
  }
}
