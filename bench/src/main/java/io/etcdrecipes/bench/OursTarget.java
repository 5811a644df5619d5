package io.etcdrecipes.bench;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeepAlive;
import io.etcdrecipes.client.KeepAliveListener;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.LeaseKeepAliveResponse;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.election.Election;
import io.etcdrecipes.lock.Mutex;
import io.etcdrecipes.lock.Semaphore;
import io.etcdrecipes.recipes.Session;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Our client, used the way its documentation shows. */
final class OursTarget implements Target<ByteSequence> {

  static final String NAME = "etcd-recipes";
  private static final GetOption SERIALIZABLE = GetOption.builder().serializable().build();

  private final EtcdClient client;

  OursTarget(String endpoints) {
    this.client = EtcdClient.builder().endpoints(endpoints).build();
  }

  EtcdClient client() {
    return client;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public ByteSequence bytes(byte[] bytes) {
    return ByteSequence.of(bytes);
  }

  @Override
  public CompletableFuture<?> put(ByteSequence key, ByteSequence value) {
    return client.kv().put(key, value);
  }

  @Override
  public CompletableFuture<?> get(ByteSequence key, boolean serializable) {
    return serializable ? client.kv().get(key, SERIALIZABLE) : client.kv().get(key);
  }

  @Override
  public CompletableFuture<Long> version(ByteSequence key) {
    return client.kv().get(key).thenApply(r -> r.isEmpty() ? 0L : r.first().version());
  }

  @Override
  public CompletableFuture<Boolean> casPut(ByteSequence key, long version, ByteSequence value) {
    return client.kv().txn()
        .when(Compare.version(key).equal(version))
        .then(Op.put(key, value))
        .commit()
        .thenApply(r -> r.succeeded());
  }

  @Override
  public Watching watchPrefix(ByteSequence prefix, EventSink sink) throws Exception {
    Watcher w = client.watch().watch(prefix, WatchOption.prefix(), r -> {
      for (WatchEvent e : r.events()) {
        if (e.type() == WatchEvent.Type.PUT) {
          sink.onPut(e.kv().modRevision(), e.kv().value().asReadOnlyByteBuffer().getLong(0));
        }
      }
    });
    w.created().get(10, TimeUnit.SECONDS);
    return w::close;
  }

  @Override
  public CompletableFuture<Long> grant(long ttlSeconds) {
    return client.lease().grant(ttlSeconds).thenApply(r -> r.id());
  }

  @Override
  public AutoCloseable keepAlive(long leaseId, Runnable onRenewed, Runnable onLost) {
    KeepAlive ka = client.lease().keepAlive(leaseId, new KeepAliveListener() {
      @Override
      public void onRenewed(LeaseKeepAliveResponse response) {
        onRenewed.run();
      }

      @Override
      public void onLost(EtcdException cause) {
        onLost.run();
      }
    });
    return ka;
  }

  @Override
  public CompletableFuture<?> revoke(long leaseId) {
    return client.lease().revoke(leaseId);
  }

  /** A session of its own (default settings but the TTL) and a {@link Mutex} on it, as the Mutex docs show. */
  @Override
  public CompletableFuture<LockContender> lockContender(String name, long ttlSeconds) {
    return session(ttlSeconds).thenApply(s -> {
      Mutex m = Mutex.create(s, name);
      return contender(s, () -> m.lockAsync());
    });
  }

  /** A session of its own and a {@link Semaphore} of {@code permits} on it (ours only: jetcd has no semaphore). */
  CompletableFuture<LockContender> semaphoreContender(String name, int permits, long ttlSeconds) {
    return session(ttlSeconds).thenApply(s -> {
      Semaphore sem = Semaphore.create(s, name, permits);
      return contender(s, () -> sem.acquireAsync());
    });
  }

  /**
   * A session of its own and an {@link Election} on it, as the Election docs show: campaign with {@code proposal},
   * resign the {@code Leadership} it returns.
   */
  @Override
  public CompletableFuture<LockContender> electionCandidate(String name, long ttlSeconds, String proposal) {
    ByteSequence value = ByteSequence.of(proposal);
    return session(ttlSeconds).thenApply(s -> {
      Election e = Election.create(s, name);
      return new LockContender() {
        @Override
        public CompletableFuture<Held> lock() {
          return e.campaignAsync(value).thenApply(term -> term::resignAsync);
        }

        @Override
        public CompletableFuture<?> closeAsync() {
          return s.closeAsync();
        }
      };
    });
  }

  /**
   * The lock and election workloads' sessions' loss-check interval; null: the default
   * (Session.DEFAULT_LOSS_CHECK_INTERVAL).
   */
  private volatile Duration sessionLossCheck;

  void sessionLossCheck(Duration interval) {
    this.sessionLossCheck = interval;
  }

  private CompletableFuture<Session> session(long ttlSeconds) {
    Session.Builder b = Session.builder(client).ttl(Duration.ofSeconds(ttlSeconds));
    if (sessionLossCheck != null) {
      b.lossCheckInterval(sessionLossCheck);
    }
    return b.buildAsync();
  }

  private static LockContender contender(Session s,
      java.util.function.Supplier<CompletableFuture<io.etcdrecipes.recipes.Ownership>> acquire) {
    return new LockContender() {
      @Override
      public CompletableFuture<Held> lock() {
        return acquire.get().thenApply(o -> o::releaseAsync);
      }

      @Override
      public CompletableFuture<?> closeAsync() {
        return s.closeAsync();
      }
    };
  }

  @Override
  public void close() {
    client.close();
  }
}
