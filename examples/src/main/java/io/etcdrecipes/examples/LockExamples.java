package io.etcdrecipes.examples;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.lock.HeldLocks;
import io.etcdrecipes.lock.MultiLock;
import io.etcdrecipes.lock.Mutex;
import io.etcdrecipes.lock.ReadWriteLock;
import io.etcdrecipes.lock.Semaphore;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdCluster;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Lock;

/**
 * The examples of docs/locks.md, compiled and runnable: {@code java -cp ... io.etcdrecipes.examples.LockExamples}
 * starts a one-member etcd (or uses {@code ETCD_ENDPOINTS}) and runs each.
 */
public final class LockExamples {

  private LockExamples() {}

  /** A job guarded by a mutex: one runner cluster-wide, its writes fenced. */
  static void nightlyReport(EtcdClient client) throws Exception {
    try (Session session = Session.builder(client).ttl(Duration.ofSeconds(10)).build(Duration.ofSeconds(5))) {
      Mutex mutex = Mutex.create(session, "jobs/nightly-report");
      try (Ownership lock = mutex.lock(Duration.ofSeconds(30))) {
        lock.onLost(why -> System.out.println("stop: " + why.getMessage())); // session suspended or lost
        // a write made in the lock's name: rejected by etcd once the lock is gone
        lock.commit(client.kv(), Op.put(ByteSequence.of("reports/last"), ByteSequence.of("2026-11-28"))).join();
        System.out.println("report written with fencing token " + lock.fencingToken());
      } catch (TimeoutException e) {
        System.out.println("someone else is running the report");
      }
    }
  }

  /** Fencing a resource outside etcd: it keeps the highest token it has seen and refuses lower ones. */
  static void fencedResource(EtcdClient client) throws Exception {
    try (Session session = Session.builder(client).ttl(Duration.ofSeconds(10)).build(Duration.ofSeconds(5));
         Ownership lock = Mutex.create(session, "db/migrations").lock(Duration.ofSeconds(30))) {
      long token = lock.fencingToken();
      // e.g. UPDATE migrations SET state = ?, fence = :token WHERE id = 1 AND fence <= :token
      // Here the resource is an etcd key holding the last token; the compare plays the WHERE clause.
      ByteSequence fence = ByteSequence.of("db/migrations-fence");
      client.kv().txn().when(Compare.version(fence).equal(0)) // the resource starts at token 0
          .then(Op.put(fence, ByteSequence.of(String.format("%020d", 0)))).commit().join();
      TxnResponse r = client.kv().txn()
          .when(Compare.value(fence).less(ByteSequence.of(String.format("%020d", token + 1))))
          .then(Op.put(fence, ByteSequence.of(String.format("%020d", token))))
          .orElse(Op.get(fence))
          .commit().join();
      System.out.println("resource accepted token " + token + ": " + r.succeeded());
    }
  }

  /** Readers share, a writer is alone. */
  static void routes(EtcdClient client) throws Exception {
    try (Session session = Session.builder(client).ttl(Duration.ofSeconds(10)).build(Duration.ofSeconds(5))) {
      ReadWriteLock routes = ReadWriteLock.create(session, "config/routes");
      try (Ownership read = routes.readLock().lock(Duration.ofSeconds(5))) {
        System.out.println("reading routes under " + read.key().toStringUtf8());
      }
      try (Ownership write = routes.writeLock().lock(Duration.ofSeconds(5))) {
        System.out.println("rewriting routes under " + write.key().toStringUtf8());
      }
    }
  }

  /** At most four exports at once, cluster-wide. */
  static void exports(EtcdClient client) throws Exception {
    try (Session session = Session.builder(client).ttl(Duration.ofSeconds(10)).build(Duration.ofSeconds(5))) {
      Semaphore exports = Semaphore.create(session, "quota/exports", 4);
      Optional<Ownership> now = exports.tryAcquire();
      if (now.isPresent()) {
        try (Ownership permit = now.get()) {
          System.out.println("export running with permit " + permit.fencingToken());
        }
      }
    }
  }

  /** A transfer between two accounts, each behind its own mutex, taken in a fixed order. */
  static void transfer(EtcdClient client) throws Exception {
    try (Session session = Session.builder(client).ttl(Duration.ofSeconds(10)).build(Duration.ofSeconds(5));
         HeldLocks both = MultiLock.mutexes(session, "accounts/42", "accounts/17").lock(Duration.ofSeconds(5))) {
      System.out.println("holding " + both.ownerships().size() + " account locks");
    }
  }

  /** The same mutex where code expects a java.util.concurrent.locks.Lock. */
  static void asLock(EtcdClient client) throws Exception {
    try (Session session = Session.builder(client).ttl(Duration.ofSeconds(10)).build(Duration.ofSeconds(5))) {
      Lock lock = Mutex.create(session, "jobs/cleanup").asLock();
      if (lock.tryLock(5, java.util.concurrent.TimeUnit.SECONDS)) {
        try {
          System.out.println("cleaning up");
        } finally {
          lock.unlock();
        }
      }
    }
  }

  public static void main(String[] args) throws Exception {
    String endpoints = System.getenv("ETCD_ENDPOINTS");
    EtcdCluster cluster = endpoints == null ? EtcdCluster.builder().members(1).start() : null;
    try (EtcdClient client = EtcdClient.builder()
        .endpoints(cluster != null ? cluster.endpoints() : endpoints).build()) {
      nightlyReport(client);
      fencedResource(client);
      routes(client);
      exports(client);
      transfer(client);
      asLock(client);
    } finally {
      if (cluster != null) {
        cluster.close();
      }
    }
  }
}
