package io.etcdrecipes.barrier;

import static io.etcdrecipes.testkit.Futures.get;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.Timing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** Clients and sessions a test closes in reverse order (a session its own client), and the keys under a prefix. */
final class BarrierTestSupport implements AutoCloseable {

  private final Supplier<String> endpoints;
  private final Duration callTimeout;
  private final Duration ttl;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  BarrierTestSupport(Supplier<String> endpoints, Duration callTimeout, Duration ttl) {
    this.endpoints = endpoints;
    this.callTimeout = callTimeout;
    this.ttl = ttl;
  }

  EtcdClient client() {
    return client(endpoints.get());
  }

  EtcdClient client(String endpoint) {
    return closeLater(EtcdClient.builder().endpoints(endpoint).callTimeout(callTimeout).build());
  }

  Session session() throws Exception {
    return closeLater(Session.builder(client()).ttl(ttl).build(Timing.seconds(10)));
  }

  synchronized <T extends AutoCloseable> T closeLater(T c) {
    toClose.add(c);
    return c;
  }

  static long keys(EtcdClient c, String prefix) {
    return get(c.kv().get(ByteSequence.of(prefix), GetOption.prefix())).count();
  }

  @Override
  public synchronized void close() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
    toClose.clear();
  }
}
