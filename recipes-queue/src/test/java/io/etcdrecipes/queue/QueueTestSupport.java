package io.etcdrecipes.queue;

import static io.etcdrecipes.testkit.Futures.get;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdCluster;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.Timing;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Clients and sessions a test closes in reverse order; the keys under a prefix; member faults (the nemesis). */
final class QueueTestSupport implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(QueueTestSupport.class);

  private final String endpoints;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  QueueTestSupport(String endpoints) {
    this.endpoints = endpoints;
  }

  synchronized EtcdClient client() {
    return client(endpoints, Timing.seconds(5));
  }

  /** A client of its own on {@code endpoints} with {@code callTimeout}. */
  synchronized EtcdClient client(String endpoints, Duration callTimeout) {
    EtcdClient c = EtcdClient.builder().endpoints(endpoints).callTimeout(callTimeout).build();
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

  /**
   * Faults in the background until {@link #stopAndRestore()}: SIGKILLs a member every second or so, every other time
   * the etcd leader, and starts it again (one member down at most, so the cluster keeps its quorum). The pauses
   * between faults are their pacing, not waits for anything.
   */
  static final class Nemesis extends Thread {
    private final EtcdCluster cluster;
    private final CountDownLatch stop = new CountDownLatch(1);
    final AtomicInteger kills = new AtomicInteger();
    final AtomicInteger leaderKills = new AtomicInteger();
    final List<Throwable> errors = new CopyOnWriteArrayList<>();

    Nemesis(EtcdCluster cluster) {
      super("nemesis");
      this.cluster = cluster;
      setDaemon(true);
    }

    /** Stops the faults, waits for the thread, starts any member still down and waits for a healthy cluster. */
    void stopAndRestore() throws InterruptedException {
      stop.countDown();
      join(Timing.seconds(30).toMillis());
      for (EtcdMember m : cluster.members()) {
        if (!m.isRunning()) {
          m.start();
        }
      }
      cluster.awaitHealthy(Timing.seconds(20));
    }

    @Override
    public String toString() {
      return kills.get() + " members killed (" + leaderKills.get() + " of them the leader)";
    }

    @Override
    public void run() {
      Random random = new Random();
      try {
        for (int round = 0; ; round++) {
          if (stop.await(300 + random.nextInt(400), TimeUnit.MILLISECONDS)) {
            return;
          }
          EtcdMember leader = cluster.leader();
          EtcdMember victim = leader;
          if (round % 2 == 1) {
            List<EtcdMember> followers = new ArrayList<>(cluster.members());
            followers.remove(leader);
            victim = followers.get(random.nextInt(followers.size()));
          } else {
            leaderKills.incrementAndGet();
          }
          log.info("nemesis: killing {}{}", victim.name(), victim == leader ? " (the leader)" : "");
          victim.kill();
          kills.incrementAndGet();
          boolean stopping = stop.await(300 + random.nextInt(500), TimeUnit.MILLISECONDS);
          victim.start();
          if (stopping) {
            return;
          }
        }
      } catch (Throwable e) {
        errors.add(e);
      }
    }
  }

  @Override
  public synchronized void close() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
    toClose.clear();
  }
}
