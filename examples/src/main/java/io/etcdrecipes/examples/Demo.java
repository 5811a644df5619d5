package io.etcdrecipes.examples;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.testkit.EtcdCluster;
import io.etcdrecipes.testkit.EtcdMember;

import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The README's main job: a local 3-member etcd cluster, a writer and a watcher on our client, and the
 * member the writer talks to killed in the middle. Prints a timeline and checks that every acknowledged
 * write was read back and seen by the watcher exactly once. Exits non-zero when a check fails.
 */
public final class Demo {

  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");
  private static final int WRITES = 60;

  private Demo() {}

  public static void main(String[] args) throws Exception {
    String external = System.getenv("ETCD_ENDPOINTS");
    EtcdCluster cluster = null;
    int status;
    try {
      String endpoints;
      if (external != null && !external.isBlank()) {
        endpoints = external;
        say("using the cluster at ETCD_ENDPOINTS=" + endpoints + " (no member will be killed)");
      } else {
        say("starting a local 3-member etcd cluster from the etcd binary...");
        long t0 = System.nanoTime();
        cluster = EtcdCluster.builder().members(3).fastElections().start();
        endpoints = cluster.endpoints();
        say("cluster up in " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) + " ms");
        for (EtcdMember m : cluster.members()) {
          say("  member " + m.name() + "  client " + m.clientEndpoint() + (m.isLeader() ? "  (leader)" : ""));
        }
      }
      status = run(endpoints, cluster);
    } finally {
      if (cluster != null) {
        say("stopping the cluster");
        cluster.close();
      }
    }
    say(status == 0 ? "demo OK" : "demo FAILED");
    System.exit(status);
  }

  private static int run(String endpoints, EtcdCluster cluster) throws Exception {
    String prefix = "demo/" + Long.toHexString(System.nanoTime()) + "/";
    List<Long> acknowledged = new ArrayList<>();
    List<WatchEvent> seen = new CopyOnWriteArrayList<>();
    try (EtcdClient client = EtcdClient.builder().endpoints(endpoints).callTimeout(Duration.ofSeconds(3)).build()) {
      Watcher watcher = client.watch().watch(ByteSequence.of(prefix), WatchOption.prefix(),
          r -> seen.addAll(r.events()));
      watcher.created().get(10, TimeUnit.SECONDS);
      say("watching " + prefix + "*; writing " + WRITES + " keys");
      for (int i = 0; i < WRITES; i++) {
        if (cluster != null && i == WRITES / 3) {
          EtcdMember victim = cluster.member(0);
          say("killing member " + victim.name() + " (SIGKILL)");
          victim.kill();
        }
        if (cluster != null && i == 2 * WRITES / 3) {
          say("restarting member " + cluster.member(0).name());
          cluster.member(0).start();
        }
        String key = prefix + String.format("%04d", i);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
          try {
            long rev = client.kv().put(key, "value-" + i).get(10, TimeUnit.SECONDS).header().revision();
            acknowledged.add(rev);
            break;
          } catch (java.util.concurrent.ExecutionException e) {
            if (System.nanoTime() > deadline) {
              throw e;
            }
            say("  put " + key + " failed (" + ((EtcdException) e.getCause()).code() + "); trying again");
          }
        }
      }
      say("all " + WRITES + " writes acknowledged; last revision " + acknowledged.get(acknowledged.size() - 1));

      long count = client.kv().get(ByteSequence.of(prefix), GetOption.builder().prefix().countOnly().build())
          .get(10, TimeUnit.SECONDS).count();
      long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      while (seen.size() < WRITES && System.nanoTime() < waitUntil) {
        Thread.sleep(50); // a demo, not a test: poll the watcher's progress for the printout
      }
      watcher.close();
      client.kv().delete(ByteSequence.of(prefix), io.etcdrecipes.client.DeleteOption.prefix()).get(10, TimeUnit.SECONDS);

      long distinct = seen.stream().map(e -> e.kv().modRevision()).distinct().count();
      boolean ordered = true;
      for (int i = 1; i < seen.size(); i++) {
        ordered &= seen.get(i).kv().modRevision() > seen.get(i - 1).kv().modRevision();
      }
      say("read back " + count + " keys; watcher saw " + seen.size() + " events (" + distinct + " distinct, "
          + (ordered ? "in order" : "OUT OF ORDER") + ")");
      boolean ok = count >= WRITES && seen.size() >= WRITES && distinct == seen.size() && ordered;
      return ok ? 0 : 1;
    }
  }

  private static void say(String line) {
    System.out.println(LocalTime.now().format(TIME) + "  " + line);
  }
}
