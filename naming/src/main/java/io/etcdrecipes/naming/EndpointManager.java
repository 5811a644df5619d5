package io.etcdrecipes.naming;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.WatchResponse;
import io.etcdrecipes.client.Watcher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The endpoints of one service target, stored under {@code target + "/"} in Go's format
 * (Go: {@code naming/endpoints.Manager}), so Go and Java services and clients discover each other.
 * Endpoints added with a lease vanish when their owner's lease ends, e.g. when its process dies.
 */
public final class EndpointManager {

  private static final Logger log = LoggerFactory.getLogger(EndpointManager.class);

  private final EtcdClient client;
  private final String target;

  public EndpointManager(EtcdClient client, String target) {
    this.client = Objects.requireNonNull(client, "client");
    if (target == null || target.isEmpty()) {
      throw new IllegalArgumentException("a service target is needed, e.g. \"foo/bar/my-service\"");
    }
    this.target = target;
  }

  public String target() {
    return target;
  }

  /** Adds (or replaces) the endpoint at {@code key}, optionally attached to a lease (0 for none). */
  public CompletableFuture<Void> addEndpoint(String key, Endpoint endpoint, long leaseId) {
    return update(List.of(EndpointUpdate.add(key, endpoint)), leaseId);
  }

  public CompletableFuture<Void> addEndpoint(String key, Endpoint endpoint) {
    return addEndpoint(key, endpoint, 0);
  }

  public CompletableFuture<Void> deleteEndpoint(String key) {
    return update(List.of(EndpointUpdate.delete(key)), 0);
  }

  /** Applies every update in one transaction; adds are attached to {@code leaseId} when it is not 0. */
  public CompletableFuture<Void> update(List<EndpointUpdate> updates, long leaseId) {
    List<Op> ops = new ArrayList<>(updates.size());
    for (EndpointUpdate u : updates) {
      if (!u.key().startsWith(target + "/")) {
        return CompletableFuture.failedFuture(new IllegalArgumentException(
            "endpoints: endpoint key should be prefixed with '" + target + "/' got: '" + u.key() + "'"));
      }
      if (u.op() == EndpointUpdate.Op.ADD) {
        ops.add(Op.put(ByteSequence.of(u.key()), ByteSequence.of(EndpointCodec.encode(u.endpoint())),
            leaseId == 0 ? PutOption.DEFAULT : PutOption.lease(leaseId)));
      } else {
        ops.add(Op.delete(ByteSequence.of(u.key())));
      }
    }
    return client.kv().txn().then(ops.toArray(new Op[0])).commit().thenApply(r -> null);
  }

  /** Every endpoint of the target, by key. Values that are not Go's JSON form are skipped. */
  public CompletableFuture<Map<String, Endpoint>> list() {
    return client.kv().get(ByteSequence.of(target + "/"), GetOption.prefix()).thenApply(r -> {
      Map<String, Endpoint> out = new LinkedHashMap<>();
      for (KeyValue kv : r.kvs()) {
        Endpoint e = EndpointCodec.decode(kv.value().toStringUtf8());
        if (e != null) {
          out.put(kv.key().toStringUtf8(), e);
        }
      }
      return out;
    });
  }

  /**
   * Delivers the current endpoints as one batch of ADD updates, then every change, in order (Go:
   * {@code NewWatchChannel}). Called on the client's callback executor. Close the returned watcher to stop.
   */
  public Watcher watch(Consumer<List<EndpointUpdate>> listener, Consumer<EtcdException> onError) {
    var initial = client.kv().get(ByteSequence.of(target + "/"), GetOption.prefix()).join();
    List<EndpointUpdate> first = new ArrayList<>();
    for (KeyValue kv : initial.kvs()) {
      Endpoint e = EndpointCodec.decode(kv.value().toStringUtf8());
      if (e == null) {
        log.warn("endpoint {} has a value that is not Go's endpoint JSON; skipped", kv.key());
        continue;
      }
      first.add(EndpointUpdate.add(kv.key().toStringUtf8(), e));
    }
    listener.accept(first);
    return client.watch().watch(ByteSequence.of(target + "/"),
        WatchOption.builder().prefix().revision(initial.header().revision() + 1).build(), new WatchListener() {
          @Override
          public void onNext(WatchResponse response) {
            List<EndpointUpdate> batch = new ArrayList<>();
            for (WatchEvent ev : response.events()) {
              String key = ev.kv().key().toStringUtf8();
              if (ev.type() == WatchEvent.Type.DELETE) {
                batch.add(EndpointUpdate.delete(key));
              } else {
                Endpoint e = EndpointCodec.decode(ev.kv().value().toStringUtf8());
                if (e != null) {
                  batch.add(EndpointUpdate.add(key, e));
                } else {
                  log.warn("endpoint {} has a value that is not Go's endpoint JSON; skipped", key);
                }
              }
            }
            if (!batch.isEmpty()) {
              listener.accept(batch);
            }
          }

          @Override
          public void onError(EtcdException error) {
            onError.accept(error);
          }
        });
  }
}
