package io.etcdrecipes.lock;

import static io.etcdrecipes.testkit.Futures.get;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdCluster;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.Hold;
import io.etcdrecipes.testkit.Timing;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/** Clients and sessions a test closes in reverse order, and a look at the keys under a lock's name. */
final class LockTestSupport implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LockTestSupport.class);

  private final String endpoints;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  LockTestSupport(String endpoints) {
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

  Session session(EtcdClient c) throws Exception {
    return session(c, Duration.ofSeconds(10));
  }

  Session session(EtcdClient c, Duration ttl) throws Exception {
    Session s = Session.builder(c).ttl(ttl).build(Timing.seconds(10));
    synchronized (this) {
      toClose.add(s);
    }
    return s;
  }

  /** A session on a client of its own. */
  Session session() throws Exception {
    return session(client());
  }

  /** The keys under {@code name/}, in key order. */
  static List<String> keys(EtcdClient c, String name) {
    List<String> keys = new ArrayList<>();
    for (KeyValue kv : get(c.kv().get(ByteSequence.of(name + "/"), GetOption.prefix())).kvs()) {
      keys.add(kv.key().toStringUtf8());
    }
    return keys;
  }

  /** The keys under {@code name/} attached to {@code lease}, in key order. */
  static List<String> keysOnLease(EtcdClient c, String name, long lease) {
    List<String> keys = new ArrayList<>();
    for (KeyValue kv : get(c.kv().get(ByteSequence.of(name + "/"), GetOption.prefix())).kvs()) {
      if (kv.lease() == lease) {
        keys.add(kv.key().toStringUtf8());
      }
    }
    return keys;
  }

  /**
   * Ends {@code hold} now unless it has ended already: a loss seen by a callback and the holder's own release race,
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

  /**
   * The kinds of lock this module offers, each as a {@link DistributedLock} over a session: a {@link Mutex}, either
   * side of a {@link ReadWriteLock}, a permit of a {@link Semaphore} of {@code permits}. Shared with child JVMs.
   */
  enum Kind {
    MUTEX(Hold.Kind.EXCLUSIVE),
    READ(Hold.Kind.READ),
    WRITE(Hold.Kind.WRITE),
    PERMIT(Hold.Kind.PERMIT);

    final Hold.Kind holdKind;

    Kind(Hold.Kind holdKind) {
      this.holdKind = holdKind;
    }

    DistributedLock on(Session s, String name, int permits) {
      return switch (this) {
        case MUTEX -> Mutex.create(s, name);
        case READ -> ReadWriteLock.create(s, name).readLock();
        case WRITE -> ReadWriteLock.create(s, name).writeLock();
        case PERMIT -> permit(Semaphore.create(s, name, permits));
      };
    }

    /** A lock that waits behind (or excludes) a holder of this kind: a writer for a reader, the same kind else. */
    Kind contender() {
      return this == READ ? WRITE : this;
    }
  }

  /** A semaphore's permit as a {@link DistributedLock}. */
  static DistributedLock permit(Semaphore sem) {
    return new DistributedLock() {
      @Override
      public String name() {
        return sem.name();
      }

      @Override
      public Ownership lock(Duration timeout) throws InterruptedException, TimeoutException {
        return sem.acquire(timeout);
      }

      @Override
      public Ownership lock() throws InterruptedException {
        return sem.acquire();
      }

      @Override
      public CompletableFuture<Ownership> lockAsync() {
        return sem.acquireAsync();
      }

      @Override
      public Optional<Ownership> tryLock() {
        return sem.tryAcquire();
      }
    };
  }

  /**
   * Faults in the background until {@link #stopAndRestore()}: kills a member every second or so, every other time
   * the leader, and starts it again (one member down at most, so the cluster keeps its quorum); with
   * {@code resetProxies}, in between resets every client connection through one member's proxy, so calls in flight
   * fail. The pauses between faults are their pacing, not waits for anything.
   */
  static final class Nemesis extends Thread {
    private final EtcdCluster cluster;
    private final boolean resetProxies;
    private final CountDownLatch stop = new CountDownLatch(1);
    final AtomicInteger kills = new AtomicInteger();
    final AtomicInteger leaderKills = new AtomicInteger();
    final AtomicInteger resets = new AtomicInteger();
    final List<Throwable> errors = new CopyOnWriteArrayList<>();

    Nemesis(EtcdCluster cluster, boolean resetProxies) {
      super("nemesis");
      this.cluster = cluster;
      this.resetProxies = resetProxies;
      setDaemon(true);
    }

    /** Stops the faults, waits for the thread, starts any member still down. */
    void stopAndRestore() throws InterruptedException {
      stop.countDown();
      join(Timing.seconds(30).toMillis());
      for (EtcdMember m : cluster.members()) {
        if (!m.isRunning()) {
          m.start();
        }
      }
    }

    @Override
    public String toString() {
      return kills.get() + " members killed (" + leaderKills.get() + " of them the leader), " + resets.get()
          + " proxy resets";
    }

    @Override
    public void run() {
      Random random = new Random();
      try {
        for (int round = 0; ; round++) {
          if (stop.await(200 + random.nextInt(300), TimeUnit.MILLISECONDS)) {
            return;
          }
          if (resetProxies) {
            cluster.member(random.nextInt(cluster.size())).proxy().reset();
            resets.incrementAndGet();
            if (stop.await(200 + random.nextInt(300), TimeUnit.MILLISECONDS)) {
              return;
            }
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
