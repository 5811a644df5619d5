package io.etcdrecipes.queue;

import static io.etcdrecipes.testkit.Futures.get;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.Timing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Clients and sessions a test closes in reverse order; the keys under a prefix. */
final class QueueTestSupport implements AutoCloseable {

  private final String endpoints;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  QueueTestSupport(String endpoints) {
    this.endpoints = endpoints;
  }

  synchronized EtcdClient client() {
    EtcdClient c = EtcdClient.builder().endpoints(endpoints).callTimeout(Timing.seconds(5)).build();
    toClose.add(c);
    return c;
  }

  Session session(EtcdClient c, Duration ttl) throws Exception {
    Session s = Session.builder(c).ttl(ttl).build(Timing.seconds(10));
    synchronized (this) {
      toClose.add(s);
    }
    return s;
  }

  Session session() throws Exception {
    return session(client(), Duration.ofSeconds(10));
  }

  static List<String> keys(EtcdClient c, String prefix) {
    List<String> keys = new ArrayList<>();
    for (KeyValue kv : get(c.kv().get(ByteSequence.of(prefix), GetOption.prefix())).kvs()) {
      keys.add(kv.key().toStringUtf8());
    }
    return keys;
  }

  @Override
  public synchronized void close() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
    toClose.clear();
  }
}
