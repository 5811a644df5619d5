package io.etcdrecipes.bench;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Election;
import io.etcd.jetcd.Lock;
import io.etcd.jetcd.support.CloseableClient;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.CompletableFuture;
import java.util.function.LongFunction;
import java.util.function.Supplier;

/** jetcd 0.8.5, used the way its documentation shows, with its defaults. */
final class JetcdTarget implements Target<ByteSequence> {

  static final String NAME = "jetcd";
  private static final GetOption SERIALIZABLE = GetOption.builder().withSerializable(true).build();

  private final Client client;

  JetcdTarget(String endpoints) {
    this.client = Client.builder().endpoints(endpoints.split(",")).build();
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public ByteSequence bytes(byte[] bytes) {
    return ByteSequence.from(bytes);
  }

  @Override
  public CompletableFuture<?> put(ByteSequence key, ByteSequence value) {
    return client.getKVClient().put(key, value);
  }

  @Override
  public CompletableFuture<?> get(ByteSequence key, boolean serializable) {
    return serializable ? client.getKVClient().get(key, SERIALIZABLE) : client.getKVClient().get(key);
  }

  @Override
  public CompletableFuture<Long> version(ByteSequence key) {
    return client.getKVClient().get(key).thenApply(r -> r.getKvs().isEmpty() ? 0L : r.getKvs().get(0).getVersion());
  }

  @Override
  public CompletableFuture<Boolean> casPut(ByteSequence key, long version, ByteSequence value) {
    return client.getKVClient().txn()
        .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.version(version)))
        .Then(Op.put(key, value, PutOption.DEFAULT))
        .commit()
        .thenApply(r -> r.isSucceeded());
  }

  @Override
  public Watching watchPrefix(ByteSequence prefix, EventSink sink) throws Exception {
    // jetcd has no "created" signal for a plain watch: ask for a create notification and wait for it.
    CompletableFuture<Void> created = new CompletableFuture<>();
    WatchOption option = WatchOption.builder().isPrefix(true).withCreateNotify(true).build();
    Watch.Watcher w = client.getWatchClient().watch(prefix, option, Watch.listener(r -> {
      if (r.getEvents().isEmpty()) {
        created.complete(null);
      }
      for (WatchEvent e : r.getEvents()) {
        if (e.getEventType() == WatchEvent.EventType.PUT) {
          byte[] v = e.getKeyValue().getValue().getBytes();
          long head = 0;
          for (int i = 0; i < 8; i++) {
            head = (head << 8) | (v[i] & 0xff);
          }
          sink.onPut(e.getKeyValue().getModRevision(), head);
        }
      }
    }, created::completeExceptionally));
    created.get(10, java.util.concurrent.TimeUnit.SECONDS);
    return w::close;
  }

  @Override
  public CompletableFuture<Long> grant(long ttlSeconds) {
    return client.getLeaseClient().grant(ttlSeconds).thenApply(r -> r.getID());
  }

  @Override
  public AutoCloseable keepAlive(long leaseId, Runnable onRenewed, Runnable onLost) {
    return client.getLeaseClient().keepAlive(leaseId, new StreamObserver<LeaseKeepAliveResponse>() {
      @Override
      public void onNext(LeaseKeepAliveResponse value) {
        onRenewed.run();
      }

      @Override
      public void onError(Throwable t) {
        onLost.run();
      }

      @Override
      public void onCompleted() {}
    });
  }

  @Override
  public CompletableFuture<?> revoke(long leaseId) {
    return client.getLeaseClient().revoke(leaseId);
  }

  /**
   * A lease of its own, granted and kept alive on jetcd's keep-alive stream, and the server-side Lock RPC with it
   * ({@code lock(name, lease)}, then {@code unlock(key)}): how jetcd's documentation locks.
   */
  @Override
  public CompletableFuture<LockContender> lockContender(String name, long ttlSeconds) {
    ByteSequence lockName = ByteSequence.from(name, java.nio.charset.StandardCharsets.UTF_8);
    Lock locks = client.getLockClient();
    return onKeptAliveLease(ttlSeconds,
        lease -> () -> locks.lock(lockName, lease).thenApply(r -> () -> locks.unlock(r.getKey())));
  }

  /**
   * A lease of its own, granted and kept alive on jetcd's keep-alive stream, and the server-side Election RPC with it
   * ({@code campaign(name, lease, proposal)}, then {@code resign(leaderKey)}): how jetcd's documentation elects.
   */
  @Override
  public CompletableFuture<LockContender> electionCandidate(String name, long ttlSeconds, String proposal) {
    ByteSequence electionName = ByteSequence.from(name, java.nio.charset.StandardCharsets.UTF_8);
    ByteSequence value = ByteSequence.from(proposal, java.nio.charset.StandardCharsets.UTF_8);
    Election elections = client.getElectionClient();
    return onKeptAliveLease(ttlSeconds, lease -> () -> elections.campaign(electionName, lease, value)
        .thenApply(r -> () -> elections.resign(r.getLeader())));
  }

  /** A contender whose {@code lock} is {@code lockWith(lease)}; closing it stops the keep-alive and revokes the lease. */
  private CompletableFuture<LockContender> onKeptAliveLease(
      long ttlSeconds, LongFunction<Supplier<CompletableFuture<Held>>> lockWith) {
    return client.getLeaseClient().grant(ttlSeconds).thenApply(g -> {
      long lease = g.getID();
      CloseableClient keepAlive = client.getLeaseClient().keepAlive(lease, new StreamObserver<>() {
        @Override
        public void onNext(LeaseKeepAliveResponse value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      });
      Supplier<CompletableFuture<Held>> lock = lockWith.apply(lease);
      return new LockContender() {
        @Override
        public CompletableFuture<Held> lock() {
          return lock.get();
        }

        @Override
        public CompletableFuture<?> closeAsync() {
          keepAlive.close();
          return client.getLeaseClient().revoke(lease);
        }
      };
    });
  }

  @Override
  public void close() {
    client.close();
  }
}
