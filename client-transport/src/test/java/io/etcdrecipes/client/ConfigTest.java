package io.etcdrecipes.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.MemberMetrics;
import io.etcdrecipes.testkit.Timing;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** YAML configuration, endpoint auto-sync, metrics, and closing without leftovers. */
class ConfigTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections()
      .unsafeNoFsync(true).build();

  @Test
  void yamlInGosFormatConfiguresTheClient(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("client.yaml");
    Files.writeString(file, String.join("\n",
        "endpoints:",
        etcd.clientEndpoints().stream().map(e -> "- " + e).collect(Collectors.joining("\n")),
        "dial-timeout: 3000000000",
        "dial-keep-alive-time: 20000000000",
        "dial-keep-alive-timeout: 4000000000",
        "auto-sync-interval: 0",
        "username: alice",
        "password: s3cret-pw",
        "insecure-transport: true",
        "reject-old-cluster: true",
        ""));
    EtcdClientConfig cfg = EtcdClient.builderFromYaml(file).buildConfig();
    assertThat(cfg.endpoints()).hasSize(3);
    assertThat(cfg.connectTimeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(cfg.keepaliveTime()).isEqualTo(Duration.ofSeconds(20));
    assertThat(cfg.keepaliveTimeout()).isEqualTo(Duration.ofSeconds(4));
    assertThat(cfg.username()).isEqualTo("alice");
    assertThat(cfg.password()).isEqualTo("s3cret-pw");
    assertThat(cfg.tls()).isNull();
    assertThat(cfg.toString()).contains("alice").doesNotContain("s3cret-pw");

    // without credentials, the same file gives a working client
    Files.writeString(file, "endpoints: [" + String.join(", ", etcd.clientEndpoints()) + "]\ndial-timeout: 2000000000\n");
    try (EtcdClient client = EtcdClient.builderFromYaml(file).build()) {
      client.kv().put("yaml/k", "v").get(10, TimeUnit.SECONDS);
      assertThat(client.kv().get("yaml/k").get(10, TimeUnit.SECONDS).count()).isOne();
    }
  }

  @Test
  void tlsSettingsFromYaml() {
    String yaml = "endpoints: [https://127.0.0.1:2379]\ncert-file: /c.pem\nkey-file: /k.pem\ntrusted-ca-file: /ca.pem\n";
    EtcdClientConfig cfg = EtcdClient.builderFromYaml(stream(yaml)).buildConfig();
    assertThat(cfg.tls()).isEqualTo(TlsConfig.trusting(Path.of("/ca.pem")).withClientCertificate(Path.of("/c.pem"), Path.of("/k.pem")));
    assertThat(cfg.tls().toString()).contains("/ca.pem", "/c.pem");
  }

  @Test
  void badYamlNamesTheSetting() {
    assertThatThrownBy(() -> EtcdClient.builderFromYaml(stream("endpoints: [http://a:1]\ndial-timeout: 5s\n")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dial-timeout").hasMessageContaining("nanoseconds");
    assertThatThrownBy(() -> EtcdClient.builderFromYaml(stream("endpoints: [http://a:1]\ncert-file: /c.pem\n")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("key-file");
    assertThatThrownBy(() -> EtcdClient.builderFromYaml(stream("- just\n- a list\n")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mapping");
  }

  @Test
  void autoSyncLearnsEveryMemberFromOne() throws Exception {
    try (EtcdClient client = EtcdClient.builder().endpoints(etcd.member(0).clientEndpoint())
        .autoSyncInterval(Duration.ofMillis(200)).build()) {
      Set<URI> expected = etcd.clientEndpoints().stream().map(URI::create).collect(Collectors.toSet());
      await().atMost(Duration.ofSeconds(10)).until(() -> Set.copyOf(client.endpoints()).equals(expected));
    }
  }

  @Test
  void metricsCountCallsByMethodAndStatus() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    long probesBefore = MemberMetrics.sum(etcd.members(), "grpc_server_msg_received_total", "grpc_method=\"Status\"");
    try (EtcdClient client = EtcdClient.builder().endpoints(etcd.endpoints()).metrics(new MicrometerMetrics(registry)).build()) {
      for (int i = 0; i < 5; i++) {
        client.kv().put("m/" + i, "v").get(10, TimeUnit.SECONDS);
      }
      assertThatThrownBy(() -> client.kv().get(ByteSequence.of("m/0"),
          GetOption.builder().revision(1_000_000).build()).get(10, TimeUnit.SECONDS));
      Watcher w = client.watch().watch(ByteSequence.of("m/"), WatchOption.prefix(), r -> { });
      assertThat(registry.get("etcd.client.calls").tag("method", "Put").tag("status", "OK").timer().count()).isEqualTo(5);
      assertThat(registry.get("etcd.client.calls").tag("method", "Range").tag("status", "OUT_OF_RANGE").timer().count())
          .isEqualTo(1);
      assertThat(registry.get("etcd.client.watches").gauge().value()).isEqualTo(1.0);
      // the client's once-a-second health probes of every member (Status calls, counted by the servers) are not the
      // user's calls: wait until the servers have answered a probe of each member
      await().atMost(Timing.seconds(10)).until(() -> MemberMetrics.sum(etcd.members(), "grpc_server_msg_received_total",
          "grpc_method=\"Status\"") >= probesBefore + etcd.members().size());
      assertThat(registry.find("etcd.client.calls").tag("method", "Status").timers()).isEmpty();
      w.close();
      client.kv().delete(ByteSequence.of("m/"), DeleteOption.prefix()).get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void closeLeavesNoThreadBehindAndFailsLaterCalls() throws Exception {
    Set<Thread> before = Thread.getAllStackTraces().keySet();
    EtcdClient client = EtcdClient.builder().endpoints(etcd.endpoints()).build();
    client.kv().put("close/k", "v").get(10, TimeUnit.SECONDS);
    client.watch().watch(ByteSequence.of("close/k"), r -> { }).created().get(10, TimeUnit.SECONDS);
    long lease = client.lease().grant(30).get(10, TimeUnit.SECONDS).id();
    KeepAlive ka = client.lease().keepAlive(lease, cause -> { });
    client.close();
    assertThat(ka.done()).succeedsWithin(Duration.ofSeconds(5));
    assertThatThrownBy(() -> client.kv().get("close/k").get(10, TimeUnit.SECONDS)).cause()
        .isInstanceOf(ClosedClientException.class);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Thread.getAllStackTraces().keySet().stream()
        .filter(t -> !before.contains(t) && t.isAlive())
        .filter(t -> t.getName().startsWith("etcd-client") || t.getName().startsWith("grpc"))
        .map(Thread::getName)).isEmpty());
  }

  private static ByteArrayInputStream stream(String s) {
    return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
  }
}
