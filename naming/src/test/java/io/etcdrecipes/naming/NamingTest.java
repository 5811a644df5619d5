package io.etcdrecipes.naming;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.testkit.ChildJvm;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Etcdctl;
import io.etcdrecipes.testkit.Timing;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.NameResolver;
import io.grpc.NameResolverRegistry;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** Service discovery end to end: two server processes, a resolver-fed channel, a killed server, Go's JSON. */
class NamingTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections()
      .unsafeNoFsync(true).build();

  private static final long TTL_SECONDS = 2;
  private final List<ChildJvm> servers = new ArrayList<>();

  @AfterEach
  void killServers() {
    servers.forEach(ChildJvm::close);
  }

  private ChildJvm startServer(String name, String target) {
    ChildJvm server = ChildJvm.builder(EchoServer.class).name("echo-" + name)
        .args(name, target, etcd.endpoints(), Long.toString(TTL_SECONDS)).start();
    servers.add(server);
    server.awaitLine("READY ", Timing.seconds(30));
    return server;
  }

  private static String echo(ManagedChannel channel) {
    return ClientCalls.blockingUnaryCall(channel, EchoServer.ECHO, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "hi");
  }

  @Test
  void aChannelThroughTheResolverBalancesOverLiveServersAndDropsAKilledOne() throws Exception {
    String target = "svc/echo";
    ChildJvm a = startServer("a", target);
    startServer("b", target);
    try (EtcdClient client = EtcdClient.builder().endpoints(etcd.endpoints()).build()) {
      EtcdNameResolverProvider provider = new EtcdNameResolverProvider(client);
      NameResolverRegistry.getDefaultRegistry().register(provider);
      ManagedChannel channel = NettyChannelBuilder.forTarget("etcd:///" + target)
          .defaultLoadBalancingPolicy("round_robin").usePlaintext().build();
      try {
        Map<String, Integer> hits = new HashMap<>();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
          hits.merge(echo(channel), 1, Integer::sum);
          assertThat(hits).containsKeys("a", "b");
        });
        for (int i = 0; i < 20; i++) {
          hits.merge(echo(channel), 1, Integer::sum);
        }
        assertThat(hits.get("a")).isGreaterThanOrEqualTo(8);
        assertThat(hits.get("b")).isGreaterThanOrEqualTo(8);

        // watch what the resolver hands to gRPC while server a's process is killed
        List<List<String>> results = new CopyOnWriteArrayList<>();
        NameResolver resolver = provider.newNameResolver(URI.create("etcd:///" + target), args());
        resolver.start(recording(results));
        await().atMost(Duration.ofSeconds(5)).until(() -> !results.isEmpty() && results.get(results.size() - 1).size() == 2);
        long killedAt = System.nanoTime();
        a.kill();
        await().atMost(Duration.ofSeconds(TTL_SECONDS + 5)).pollInterval(Duration.ofMillis(20))
            .until(() -> results.get(results.size() - 1).size() == 1);
        long goneAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
        assertThat(goneAfterMs).as("removed within TTL + 1 s").isLessThanOrEqualTo(TTL_SECONDS * 1000 + 1000);
        resolver.shutdown();
        for (int i = 0; i < 10; i++) {
          assertThat(echo(channel)).isEqualTo("b");
        }
        assertThat(new EndpointManager(client, target).list().get(10, TimeUnit.SECONDS)).hasSize(1);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        NameResolverRegistry.getDefaultRegistry().deregister(provider);
      }
    }
  }

  @Test
  void anEntryWrittenByGoAsEtcdctlDoesIsResolvedAndOursIsGosFormat() throws Exception {
    String target = "svc/go";
    String goJson = "{\"Op\":0,\"Addr\":\"127.0.0.1:7001\",\"Metadata\":{\"zone\":\"a\"}}";
    new Etcdctl(etcd.endpoints()).run("put", target + "/127.0.0.1:7001", goJson);
    try (EtcdClient client = EtcdClient.builder().endpoints(etcd.endpoints()).build()) {
      EndpointManager manager = new EndpointManager(client, target);
      manager.addEndpoint(target + "/127.0.0.1:7002", Endpoint.of("127.0.0.1:7002")).get(10, TimeUnit.SECONDS);
      Map<String, Endpoint> all = manager.list().get(10, TimeUnit.SECONDS);
      assertThat(all.get(target + "/127.0.0.1:7001")).isEqualTo(new Endpoint("127.0.0.1:7001", "{\"zone\":\"a\"}"));
      assertThat(client.kv().get(target + "/127.0.0.1:7002").get(10, TimeUnit.SECONDS).first().value().toStringUtf8())
          .isEqualTo("{\"Op\":0,\"Addr\":\"127.0.0.1:7002\",\"Metadata\":null}");

      List<List<String>> results = new CopyOnWriteArrayList<>();
      NameResolver resolver = new EtcdNameResolverProvider(client).newNameResolver(URI.create("etcd:///" + target), args());
      resolver.start(recording(results));
      await().atMost(Duration.ofSeconds(5)).until(() -> !results.isEmpty()
          && results.get(results.size() - 1).containsAll(List.of("/127.0.0.1:7001", "/127.0.0.1:7002")));
      manager.deleteEndpoint(target + "/127.0.0.1:7001").get(10, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(5)).until(() -> results.get(results.size() - 1).equals(List.of("/127.0.0.1:7002")));
      resolver.shutdown();
      assertThatThrownBy(() -> manager.addEndpoint("other/x", Endpoint.of("1.2.3.4:5")).get(10, TimeUnit.SECONDS))
          .cause().isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prefixed with 'svc/go/'");
    }
  }

  /** A resolver listener that records each address list it is handed. */
  private static NameResolver.Listener2 recording(List<List<String>> results) {
    return new NameResolver.Listener2() {
      @Override
      public void onResult(NameResolver.ResolutionResult r) {
        results.add(r.getAddressesOrError().getValue().stream()
            .map(g -> g.getAddresses().get(0).toString()).collect(Collectors.toList()));
      }

      @Override
      public void onError(Status error) {
        results.add(List.of("error: " + error));
      }
    };
  }

  private static NameResolver.Args args() {
    return NameResolver.Args.newBuilder()
        .setDefaultPort(443)
        .setProxyDetector(addr -> null)
        .setSynchronizationContext(new SynchronizationContext((t, e) -> { throw new AssertionError(e); }))
        .setServiceConfigParser(new NameResolver.ServiceConfigParser() {
          @Override
          public NameResolver.ConfigOrError parseServiceConfig(Map<String, ?> rawServiceConfig) {
            return NameResolver.ConfigOrError.fromConfig(rawServiceConfig);
          }
        })
        .build();
  }
}
