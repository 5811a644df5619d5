package io.etcdrecipes.examples;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.election.Election;
import io.etcdrecipes.election.LeaderInfo;
import io.etcdrecipes.election.LeaderLatch;
import io.etcdrecipes.election.LeaderLatchListener;
import io.etcdrecipes.election.LeaderListener;
import io.etcdrecipes.election.LeaderSelector;
import io.etcdrecipes.election.Leadership;
import io.etcdrecipes.recipes.Registration;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdCluster;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The examples of docs/election.md, compiled and runnable: {@code java -cp ... io.etcdrecipes.examples.ElectionExamples}
 * starts a one-member etcd (or uses {@code ETCD_ENDPOINTS}) and runs each.
 */
public final class ElectionExamples {

  private ElectionExamples() {}

  /** Go's Election: campaign, act in the term's name, proclaim, resign; observe the leaders. */
  static void election(EtcdClient client) throws Exception {
    try (Session session = Session.builder(client).ttl(Duration.ofSeconds(10)).build(Duration.ofSeconds(5))) {
      Election election = Election.create(session, "services/scheduler");
      Registration watching = election.observe(new LeaderListener() {
        @Override
        public void leaderChanged(LeaderInfo leader) {
          System.out.println("leader: " + leader.valueUtf8() + " (term " + leader.createRevision() + ")");
        }

        @Override
        public void noLeader(long revision) {
          System.out.println("no leader at revision " + revision);
        }
      });
      try (Leadership term = election.campaign("node-1", Duration.ofMinutes(1))) {
        term.onLost(why -> System.out.println("stop leading: " + why.getMessage()));
        term.commit(client.kv(), Op.put(ByteSequence.of("scheduler/owner"), ByteSequence.of("node-1"))).join();
        term.proclaim("node-1 (draining)");
      } // resigned: the next candidate leads at once
      watching.close();
    }
  }

  /** Curator's LeaderLatch: listeners hear isLeader/notLeader; it rejoins by itself after a lost session. */
  static void latch(EtcdClient client) throws Exception {
    try (LeaderLatch latch = LeaderLatch.builder(client, "services/indexer", "node-1").ttl(Duration.ofSeconds(5)).build()) {
      latch.addListener(new LeaderLatchListener() {
        @Override
        public void isLeader(Leadership term) {
          System.out.println("indexing as leader, fencing token " + term.fencingToken());
        }

        @Override
        public void notLeader() {
          System.out.println("indexing stopped");
        }
      });
      latch.start();
      latch.await(Duration.ofSeconds(10));
      System.out.println("participants: " + latch.participants());
    }
  }

  /** Curator's LeaderSelector: the task runs while leading, on a thread of its own, interrupted on loss. */
  static void selector(EtcdClient client) throws Exception {
    CountDownLatch ran = new CountDownLatch(1);
    try (LeaderSelector selector = LeaderSelector.builder(client, "services/compactor", "node-1", term -> {
      System.out.println("compacting under term " + term.fencingToken());
      ran.countDown(); // returning gives leadership up; the selector campaigns again (autoRequeue)
    }).autoRequeue(false).build()) {
      selector.start();
      ran.await(10, TimeUnit.SECONDS);
    }
  }

  public static void main(String[] args) throws Exception {
    String endpoints = System.getenv("ETCD_ENDPOINTS");
    EtcdCluster cluster = endpoints == null ? EtcdCluster.builder().members(1).start() : null;
    try (EtcdClient client = EtcdClient.builder()
        .endpoints(cluster != null ? cluster.endpoints() : endpoints).build()) {
      election(client);
      latch(client);
      selector(client);
    } finally {
      if (cluster != null) {
        cluster.close();
      }
    }
  }
}
