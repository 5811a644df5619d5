package io.etcdrecipes.lock;

import static io.etcdrecipes.testkit.Futures.get;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.Hold;
import io.etcdrecipes.testkit.Timing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/** Clients and sessions a test closes in reverse order, and a look at the keys under a lock's name. */
final class LockTestSupport implements AutoCloseable {

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

  @Override
  public synchronized void close() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
    toClose.clear();
  }
}
