package io.etcdrecipes.naming;

import io.etcdrecipes.client.EtcdClient;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * Resolves {@code etcd:///service/name} targets for grpc-java channels from the endpoints an
 * {@link EndpointManager} keeps under {@code service/name/}. It needs a client, so it is registered by
 * hand rather than found by the ServiceLoader:
 * <pre>{@code
 * NameResolverRegistry.getDefaultRegistry().register(new EtcdNameResolverProvider(client));
 * ManagedChannel ch = ManagedChannelBuilder.forTarget("etcd:///my-service")
 *     .defaultLoadBalancingPolicy("round_robin").usePlaintext().build();
 * }</pre>
 */
public final class EtcdNameResolverProvider extends NameResolverProvider {

  public static final String SCHEME = "etcd";

  private final EtcdClient client;

  public EtcdNameResolverProvider(EtcdClient client) {
    this.client = Objects.requireNonNull(client, "client");
  }

  @Override
  public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
    if (!SCHEME.equals(targetUri.getScheme())) {
      return null;
    }
    String path = targetUri.getPath();
    if (path == null || path.length() <= 1) {
      throw new IllegalArgumentException("an etcd target names a service: etcd:///service, got " + targetUri);
    }
    return new EtcdNameResolver(client, path.substring(1), targetUri.getAuthority(), args.getSynchronizationContext());
  }

  @Override
  public String getDefaultScheme() {
    return SCHEME;
  }

  @Override
  protected boolean isAvailable() {
    return true;
  }

  @Override
  protected int priority() {
    return 5;
  }

  @Override
  public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
    return List.of(InetSocketAddress.class);
  }
}
