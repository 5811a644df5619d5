package io.etcdrecipes.client;

import io.etcdrecipes.client.internal.AutoSync;
import io.etcdrecipes.client.internal.AuthImpl;
import io.etcdrecipes.client.internal.AuthTokens;
import io.etcdrecipes.client.internal.Caller;
import io.etcdrecipes.client.internal.ClusterImpl;
import io.etcdrecipes.client.internal.Connection;
import io.etcdrecipes.client.internal.Endpoints;
import io.etcdrecipes.client.internal.HealthProbe;
import io.etcdrecipes.client.internal.KeyCodec;
import io.etcdrecipes.client.internal.KvImpl;
import io.etcdrecipes.client.internal.KvProtos;
import io.etcdrecipes.client.internal.LeaseImpl;
import io.etcdrecipes.client.internal.MaintenanceImpl;
import io.etcdrecipes.client.internal.Metrics;
import io.etcdrecipes.client.internal.WatchImpl;
import io.etcdrecipes.client.internal.YamlConfig;

import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * A client of one etcd cluster: the entry point to {@link KV}, {@link Lease}, {@link Watch} and the
 * admin services. Thread-safe; make one per cluster and share it. Closing it closes its watches and
 * keep-alives and leaves no thread behind.
 *
 * <pre>{@code
 * try (EtcdClient client = EtcdClient.builder().endpoints("http://127.0.0.1:2379").build()) {
 *   client.kv().put("greeting", "hello").join();
 * }
 * }</pre>
 */
public final class EtcdClient implements AutoCloseable {

  private final EtcdClientConfig config;
  private final Connection connection;
  private final Caller caller;
  private final KvImpl kv;
  private final LeaseImpl lease;
  private final WatchImpl watch;
  private final Cluster cluster;
  private final Maintenance maintenance;
  private final Auth auth;
  private final AutoSync autoSync;
  private final HealthProbe healthProbe;

  private EtcdClient(EtcdClientConfig config, ClientMetrics clientMetrics) {
    this.config = config;
    this.connection = new Connection(config);
    AuthTokens tokens = config.username() == null ? null
        : new AuthTokens(config.username(), config.password(), config.callTimeout());
    Metrics metrics = Metrics.of(clientMetrics);
    this.caller = new Caller(connection, tokens, metrics);
    if (tokens != null) {
      tokens.bind(caller);
    }
    KvProtos protos = new KvProtos(KeyCodec.of(config.namespace()));
    this.kv = new KvImpl(caller, protos, config.callTimeout());
    this.lease = new LeaseImpl(caller, config.callTimeout());
    this.watch = new WatchImpl(caller, protos);
    this.cluster = new ClusterImpl(caller, config.callTimeout());
    this.maintenance = new MaintenanceImpl(caller, config.callTimeout());
    this.auth = new AuthImpl(caller, config.callTimeout());
    // the probe's own Status calls stay out of the user's call metrics
    this.healthProbe = new HealthProbe(new Caller(connection, tokens, null));
    this.autoSync = config.autoSyncInterval() == null ? null : new AutoSync(caller, config.autoSyncInterval());
    if (metrics != null) {
      metrics.gauge("etcd.client.watches", "open watches", watch::openWatches);
      metrics.gauge("etcd.client.leases.kept.alive", "leases kept alive", lease::keptAliveCount);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * A builder filled from a YAML file in the format of etcd's Go {@code clientv3/yaml} package
   * ({@code endpoints}, {@code dial-timeout} in nanoseconds, {@code username}, {@code password},
   * {@code insecure-transport}, {@code insecure-skip-tls-verify}, {@code cert-file}, {@code key-file},
   * {@code trusted-ca-file}, ...). Bad content is an {@link IllegalArgumentException} naming the setting.
   */
  public static Builder builderFromYaml(Path file) {
    return YamlConfig.load(file, new Builder());
  }

  public static Builder builderFromYaml(InputStream yaml) {
    return YamlConfig.load(yaml, "YAML stream", new Builder());
  }

  public EtcdClientConfig config() {
    return config;
  }

  public KV kv() {
    return kv;
  }

  public Lease lease() {
    return lease;
  }

  public Watch watch() {
    return watch;
  }

  /** Cluster membership: list, add, remove, update, promote. */
  public Cluster cluster() {
    return cluster;
  }

  /** Status, alarms, defragment, hashes, snapshot, leadership transfer. */
  public Maintenance maintenance() {
    return maintenance;
  }

  /** Users, roles, permissions; enabling and disabling authentication. */
  public Auth auth() {
    return auth;
  }

  /**
   * Where this client runs user callbacks (watch events, lease keep-alive listeners): the executor given to the
   * builder, or the client's own daemon pool, which grows with callbacks that block. Never the threads that complete
   * RPCs (those are the client's own), so a callback may block on this client's calls. Recipes built on the client
   * run their listeners here too.
   */
  public Executor callbackExecutor() {
    return connection.callbackExecutor();
  }

  /** The endpoints the client currently uses (they change with auto-sync). */
  public List<URI> endpoints() {
    List<URI> out = new ArrayList<>();
    for (Connection.EndpointChannel c : connection.channels()) {
      out.add(c.uri());
    }
    return out;
  }

  /**
   * Replaces the endpoints the client uses (Go: {@code SetEndpoints}); channels to endpoints that stay
   * are kept. Auto-sync, when on, may change the list again.
   */
  public void setEndpoints(String... endpoints) {
    List<URI> uris = new ArrayList<>();
    for (String e : endpoints) {
      uris.addAll(Endpoints.parse(e));
    }
    connection.updateEndpoints(uris);
  }

  /** How many Authenticate calls this client made (package-private: for the single-flight refresh test). */
  long authenticateCount() {
    return caller.tokens() == null ? 0 : caller.tokens().authenticateCount();
  }

  /** Closes watches, keep-alives and connections. Pending calls fail with {@link ClosedClientException}. */
  @Override
  public void close() {
    healthProbe.close();
    if (autoSync != null) {
      autoSync.close();
    }
    watch.close();
    lease.close();
    connection.close();
  }

  /** Builds an {@link EtcdClient}. Every setting has a default except the endpoints. */
  public static final class Builder {
    final List<URI> endpoints = new ArrayList<>();
    Duration callTimeout = Duration.ofSeconds(10);
    Duration connectTimeout = Duration.ofSeconds(5);
    Duration keepaliveTime = Duration.ofSeconds(30);
    Duration keepaliveTimeout = Duration.ofSeconds(10);
    int maxInboundMessageSize = Integer.MAX_VALUE;
    int maxOutboundMessageSize = 2 * 1024 * 1024;
    String username;
    String password;
    ByteSequence namespace;
    boolean requireLeader;
    boolean watchRequireLeader = true;
    Duration autoSyncInterval;
    Executor callbackExecutor;
    TlsConfig tls;
    int maxRetries = 10;
    ClientMetrics metrics;

    private Builder() {}

    /** One or more endpoints: {@code "http://h:2379,https://h2:2379"}; https turns TLS on. */
    public Builder endpoints(String... endpoints) {
      this.endpoints.clear();
      for (String e : endpoints) {
        this.endpoints.addAll(Endpoints.parse(e));
      }
      return this;
    }

    public Builder endpoints(List<String> endpoints) {
      return endpoints(endpoints.toArray(new String[0]));
    }

    /** The deadline of every call unless a call says otherwise (default 10 s). */
    public Builder callTimeout(Duration timeout) {
      this.callTimeout = EtcdClientConfig.positive(timeout, "callTimeout");
      return this;
    }

    /** How long to wait for a TCP connection to a member (default 5 s). */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = EtcdClientConfig.positive(timeout, "connectTimeout");
      return this;
    }

    /**
     * gRPC keepalive: a ping after {@code time} without traffic, the connection dropped when no answer
     * comes within {@code timeout} (defaults 30 s / 10 s; etcd refuses pings more often than every 5 s
     * unless started with a smaller {@code --grpc-keepalive-min-time}).
     */
    public Builder keepalive(Duration time, Duration timeout) {
      this.keepaliveTime = EtcdClientConfig.positive(time, "keepaliveTime");
      this.keepaliveTimeout = EtcdClientConfig.positive(timeout, "keepaliveTimeout");
      return this;
    }

    public Builder maxInboundMessageSize(int bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("maxInboundMessageSize must be > 0");
      }
      this.maxInboundMessageSize = bytes;
      return this;
    }

    /** Requests larger than this fail before they are sent (default 2 MiB, as in Go). */
    public Builder maxOutboundMessageSize(int bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("maxOutboundMessageSize must be > 0");
      }
      this.maxOutboundMessageSize = bytes;
      return this;
    }

    /** Authenticate as this user; the token is fetched before the first call and refreshed when rejected. */
    public Builder credentials(String username, String password) {
      this.username = Objects.requireNonNull(username, "username");
      this.password = Objects.requireNonNull(password, "password");
      return this;
    }

    /** Prefix every key with {@code namespace} and strip it from responses (Go: namespace package). */
    public Builder namespace(String namespace) {
      return namespace(ByteSequence.of(namespace));
    }

    public Builder namespace(ByteSequence namespace) {
      this.namespace = namespace == null || namespace.isEmpty() ? null : namespace;
      return this;
    }

    /** Ask members to fail calls and watches at once when they have no leader (Go: WithRequireLeader). */
    public Builder requireLeader(boolean requireLeader) {
      this.requireLeader = requireLeader;
      return this;
    }

    /**
     * Whether watches require a leader (default {@code true}, unlike Go, where it is opt-in). A member cut off from
     * its peers keeps its watch streams and answers their progress requests from its own stale state, so a watch
     * on it would wait for events that cannot reach it while it looks healthy. With this on, the member ends such
     * streams once it has been without a leader for about three election timeouts (etcd's own rule), and the
     * client moves every watch to another member, resuming from its revision. Off: Go's behaviour, a watch stays
     * on a leaderless member until the partition heals. {@link #requireLeader(boolean)} turns it on for
     * everything.
     */
    public Builder watchRequireLeader(boolean on) {
      this.watchRequireLeader = on;
      return this;
    }

    /** Refresh the endpoints from the member list at this interval. */
    public Builder autoSyncInterval(Duration interval) {
      this.autoSyncInterval = interval == null ? null : EtcdClientConfig.positive(interval, "autoSyncInterval");
      return this;
    }

    /**
     * Where user callbacks run (default: the client's own daemon pool). RPC futures are completed on the client's own
     * threads, never here, so a callback that blocks on this client's calls cannot stall them.
     */
    public Builder callbackExecutor(Executor executor) {
      this.callbackExecutor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    public Builder tls(TlsConfig tls) {
      this.tls = tls;
      return this;
    }

    /** The most attempts a retryable call makes within its deadline (default 10). */
    public Builder maxRetries(int attempts) {
      if (attempts < 1) {
        throw new IllegalArgumentException("maxRetries must be >= 1");
      }
      this.maxRetries = attempts;
      return this;
    }

    /** Report calls and gauges to {@code metrics} (e.g. {@code new MicrometerMetrics(registry)}); default none. */
    public Builder metrics(ClientMetrics metrics) {
      this.metrics = Objects.requireNonNull(metrics, "metrics");
      return this;
    }

    public EtcdClientConfig buildConfig() {
      return new EtcdClientConfig(this);
    }

    public EtcdClient build() {
      return new EtcdClient(buildConfig(), metrics);
    }

    @Override
    public String toString() {
      return "EtcdClient.Builder" + Arrays.asList(endpoints);
    }
  }
}
