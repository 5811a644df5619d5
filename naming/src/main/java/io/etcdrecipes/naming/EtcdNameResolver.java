package io.etcdrecipes.naming;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.Watcher;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusOr;
import io.grpc.SynchronizationContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Watches one service's endpoints and hands the live address list to gRPC on every change. A failed
 * watch is reported to the channel and restarted on the channel's {@link #refresh()}.
 */
final class EtcdNameResolver extends NameResolver {

  private static final Logger log = LoggerFactory.getLogger(EtcdNameResolver.class);

  private final EndpointManager manager;
  private final String authority;
  private final SynchronizationContext syncContext;
  private final Map<String, Endpoint> endpoints = new LinkedHashMap<>();
  private Listener2 listener;
  private Watcher watcher;
  private boolean shutdown;

  EtcdNameResolver(EtcdClient client, String service, String authority, SynchronizationContext syncContext) {
    this.manager = new EndpointManager(client, service);
    this.authority = authority == null || authority.isEmpty() ? service : authority;
    this.syncContext = syncContext;
  }

  @Override
  public String getServiceAuthority() {
    return authority;
  }

  @Override
  public void start(Listener2 listener) {
    this.listener = listener;
    watch();
  }

  private void watch() {
    try {
      watcher = manager.watch(batch -> syncContext.execute(() -> apply(batch)),
          error -> syncContext.execute(() -> {
            if (!shutdown) {
              listener.onError(Status.UNAVAILABLE.withDescription("etcd watch of " + manager.target()
                  + " failed: " + error.getMessage()));
            }
          }));
    } catch (RuntimeException e) {
      listener.onError(Status.UNAVAILABLE.withDescription("cannot list " + manager.target() + " in etcd: " + e)
          .withCause(e));
    }
  }

  private void apply(List<EndpointUpdate> batch) {
    if (shutdown) {
      return;
    }
    for (EndpointUpdate u : batch) {
      if (u.op() == EndpointUpdate.Op.ADD) {
        endpoints.put(u.key(), u.endpoint());
      } else {
        endpoints.remove(u.key());
      }
    }
    List<EquivalentAddressGroup> groups = new ArrayList<>();
    for (Endpoint e : endpoints.values()) {
      InetSocketAddress address = parse(e.addr());
      if (address != null) {
        groups.add(new EquivalentAddressGroup(address));
      }
    }
    log.debug("{} resolves to {}", manager.target(), groups);
    listener.onResult2(ResolutionResult.newBuilder().setAddressesOrError(StatusOr.fromValue(groups)).build());
  }

  private static InetSocketAddress parse(String addr) {
    int colon = addr.lastIndexOf(':');
    if (colon <= 0) {
      log.warn("endpoint address {} has no port; skipped", addr);
      return null;
    }
    try {
      String host = addr.substring(0, colon).replace("[", "").replace("]", "");
      return new InetSocketAddress(host, Integer.parseInt(addr.substring(colon + 1)));
    } catch (IllegalArgumentException e) {
      log.warn("bad endpoint address {}; skipped", addr);
      return null;
    }
  }

  @Override
  public void refresh() {
    if (watcher == null || watcher.done().isDone()) {
      endpoints.clear();
      watch();
    }
  }

  @Override
  public void shutdown() {
    shutdown = true;
    if (watcher != null) {
      watcher.close();
    }
  }
}
