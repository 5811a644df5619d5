package io.etcdrecipes.election;

import static io.etcdrecipes.testkit.Futures.get;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.Hold;
import io.etcdrecipes.testkit.MemberMetrics;
import io.etcdrecipes.testkit.Timing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Clients, sessions and latches a test closes in reverse order; the keys under an election's name. */
final class ElectionTestSupport implements AutoCloseable {

  private final String endpoints;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  ElectionTestSupport(String endpoints) {
    this.endpoints = endpoints;
  }

  synchronized EtcdClient client() {
    return client(endpoints, Timing.seconds(5));
  }

  /** A client of its own on {@code endpoints} (one member's proxy, say) with {@code callTimeout}. */
  synchronized EtcdClient client(String endpoints, Duration callTimeout) {
    EtcdClient c = EtcdClient.builder().endpoints(endpoints).callTimeout(callTimeout).build();
    toClose.add(c);
    return c;
  }

  Session session(EtcdClient c, Duration ttl) throws Exception {
    Session s = Session.builder(c).ttl(ttl).build(Timing.seconds(10));
    closeLater(s);
    return s;
  }

  Session session() throws Exception {
    return session(client(), Duration.ofSeconds(10));
  }

  /** A latch (closed with the rest) whose listener records {@code id+<token>} on isLeader and {@code id-} on notLeader. */
  LeaderLatch recordingLatch(EtcdClient c, String name, String id, Duration ttl, List<String> events) {
    LeaderLatch l = closeLater(LeaderLatch.builder(c, name, id).ttl(ttl).build());
    l.addListener(new LeaderLatchListener() {
      @Override
      public void isLeader(Leadership term) {
        events.add(id + "+" + term.fencingToken());
      }

      @Override
      public void notLeader() {
        events.add(id + "-");
      }
    });
    return l;
  }

  synchronized <T extends AutoCloseable> T closeLater(T c) {
    toClose.add(c);
    return c;
  }

  static List<String> keys(EtcdClient c, String name) {
    List<String> keys = new ArrayList<>();
    for (KeyValue kv : get(c.kv().get(ByteSequence.of(name + "/"), GetOption.prefix())).kvs()) {
      keys.add(kv.key().toStringUtf8());
    }
    return keys;
  }

  /**
   * Ends {@code hold} now unless it has ended already: a loss seen by a callback and the holder's own resign race,
   * and the earlier of the two is the end.
   */
  static void end(Hold hold, boolean lost) {
    synchronized (hold) {
      if (hold.isOpen()) {
        if (lost) {
          hold.lost();
        } else {
          hold.released();
        }
      }
    }
  }

  /** gRPC streams of {@code method} ({@code "LeaseKeepAlive"}, {@code "Watch"}) open on {@code member} now. */
  static long openStreams(EtcdMember member, String method) {
    String label = "grpc_method=\"" + method + "\"";
    return Math.round(MemberMetrics.value(member, "grpc_server_started_total", label)
        - MemberMetrics.value(member, "grpc_server_handled_total", label));
  }

  @Override
  public synchronized void close() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
    toClose.clear();
  }
}
