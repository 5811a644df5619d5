package io.etcdrecipes.client.internal;

import io.etcdrecipes.client.EtcdClientConfig;
import io.etcdrecipes.client.TlsConfig;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NegotiationType;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One gRPC channel per endpoint, all on one Netty event loop, and the choice of endpoint for each call.
 *
 * <p>We keep a channel per member instead of one load-balanced channel so that a call can be aimed at a
 * chosen member (maintenance), so that a member that failed a call is avoided for a while (a paused
 * member keeps its TCP connection "ready" and would otherwise keep swallowing calls until their
 * deadlines), and so that streams know which member they are on.
 */
public final class Connection implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Connection.class);

  /** How long a member that failed a call is passed over while others look healthy. */
  private static final long SUSPECT_NANOS = TimeUnit.SECONDS.toNanos(3);

  private final EtcdClientConfig config;
  private final EventLoopGroup eventLoop;
  private final Class<? extends Channel> channelType;
  /**
   * For the long-lived streams (watch, keep-alive): their responses are read on the transport thread, because
   * handling one is a short non-blocking step that hands the user's callbacks to the callback executor itself;
   * gRPC's default (the channel's executor) would add a second thread hand-off per response.
   */
  static final Executor READ_ON_TRANSPORT_THREAD = Runnable::run;

  private final Executor callbackExecutor;
  private final ExecutorService ownedCallbackExecutor;
  /**
   * Where gRPC completes unary calls (and so where our futures complete): never the callback executor, so a user
   * callback that blocks on this client's calls cannot take the threads those calls need to complete.
   */
  private final ExecutorService rpcExecutor;
  private final ScheduledExecutorService scheduler;
  private final SslContext sslContext;
  private final CopyOnWriteArrayList<EndpointChannel> channels = new CopyOnWriteArrayList<>();
  private final AtomicInteger next = new AtomicInteger();
  private volatile boolean closed;

  public Connection(EtcdClientConfig config) {
    this.config = config;
    // Native epoll where grpc-netty-shaded ships it (Linux x86_64/aarch64): fewer syscalls and less garbage
    // per call than NIO's selector; NIO elsewhere.
    if (Epoll.isAvailable()) {
      this.eventLoop = new EpollEventLoopGroup(1, daemonThreads("etcd-client-io"));
      this.channelType = EpollSocketChannel.class;
    } else {
      this.eventLoop = new NioEventLoopGroup(1, daemonThreads("etcd-client-io"));
      this.channelType = NioSocketChannel.class;
    }
    if (config.callbackExecutor() != null) {
      this.callbackExecutor = config.callbackExecutor();
      this.ownedCallbackExecutor = null;
    } else {
      // grows with callbacks that block (each subscription is ordered by its own serial executor); idle threads end
      this.ownedCallbackExecutor = new java.util.concurrent.ThreadPoolExecutor(0, Integer.MAX_VALUE, 30,
          TimeUnit.SECONDS, new java.util.concurrent.SynchronousQueue<>(), daemonThreads("etcd-client-callback"));
      this.callbackExecutor = ownedCallbackExecutor;
    }
    this.rpcExecutor = Executors.newFixedThreadPool(
        Math.max(2, Runtime.getRuntime().availableProcessors()), daemonThreads("etcd-client-rpc"));
    ScheduledThreadPoolExecutor s = new ScheduledThreadPoolExecutor(1, daemonThreads("etcd-client-timer"));
    s.setRemoveOnCancelPolicy(true);
    this.scheduler = s;
    this.sslContext = sslContext(config.tls());
    for (URI uri : config.endpoints()) {
      channels.add(newChannel(uri));
    }
  }

  private EndpointChannel newChannel(URI uri) {
    NettyChannelBuilder b = NettyChannelBuilder.forAddress(uri.getHost(), uri.getPort())
        .eventLoopGroup(eventLoop)
        .channelType(channelType)
        .executor(rpcExecutor)
        .offloadExecutor(rpcExecutor)
        .maxInboundMessageSize(config.maxInboundMessageSize())
        .keepAliveTime(config.keepaliveTime().toNanos(), TimeUnit.NANOSECONDS)
        .keepAliveTimeout(config.keepaliveTimeout().toNanos(), TimeUnit.NANOSECONDS)
        .keepAliveWithoutCalls(true)
        .withOption(io.grpc.netty.shaded.io.netty.channel.ChannelOption.CONNECT_TIMEOUT_MILLIS,
            (int) Math.min(Integer.MAX_VALUE, config.connectTimeout().toMillis()))
        .disableRetry();
    boolean tls = "https".equals(uri.getScheme()) || config.tls() != null;
    if (tls) {
      b.negotiationType(NegotiationType.TLS).sslContext(sslContext != null ? sslContext : defaultSsl());
      if (config.tls() != null && config.tls().authorityOverride() != null) {
        b.overrideAuthority(config.tls().authorityOverride());
      }
    } else {
      b.usePlaintext();
    }
    ManagedChannel channel = b.build();
    return new EndpointChannel(uri, channel);
  }

  private static SslContext defaultSsl() {
    try {
      return GrpcSslContexts.forClient().build();
    } catch (Exception e) {
      throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
    }
  }

  private static SslContext sslContext(TlsConfig tls) {
    if (tls == null) {
      return null;
    }
    try {
      SslContextBuilder b = GrpcSslContexts.forClient();
      if (tls.isInsecureSkipVerify()) {
        b.trustManager(InsecureTrustManagerFactory.INSTANCE);
      } else {
        try (java.io.InputStream ca = tls.openTrustedCa()) {
          if (ca != null) {
            b.trustManager(ca);
          }
        }
      }
      if (tls.hasClientCertificate()) {
        try (java.io.InputStream cert = tls.openCertChain(); java.io.InputStream key = tls.openPrivateKey()) {
          b.keyManager(cert, key);
        }
      }
      return b.build();
    } catch (Exception e) {
      throw new IllegalArgumentException("bad TLS configuration " + tls + ": " + e.getMessage(), e);
    }
  }

  public EtcdClientConfig config() {
    return config;
  }

  public Executor callbackExecutor() {
    return callbackExecutor;
  }

  public ScheduledExecutorService scheduler() {
    return scheduler;
  }

  public boolean isClosed() {
    return closed;
  }

  public List<EndpointChannel> channels() {
    return new ArrayList<>(channels);
  }

  /** The channel of the endpoint with this URI, or {@code null}. */
  public EndpointChannel channel(URI uri) {
    for (EndpointChannel c : channels) {
      if (c.uri().equals(uri)) {
        return c;
      }
    }
    return null;
  }

  /**
   * The endpoint for the next call: round robin over the members that are neither known to be failing nor
   * recently suspected; if every one is, the one suspected longest ago (it may be back).
   */
  public EndpointChannel pick() {
    List<EndpointChannel> cs = channels;
    int n = cs.size();
    int start = Math.floorMod(next.getAndIncrement(), n);
    long now = System.nanoTime();
    EndpointChannel fallback = null;
    for (int i = 0; i < n; i++) {
      EndpointChannel c = cs.get((start + i) % n);
      if (c.isUsable(now)) {
        return c;
      }
      if (fallback == null || c.suspectSince() < fallback.suspectSince()) {
        fallback = c;
      }
    }
    return fallback;
  }

  /** A call on {@code c} failed in a way that says the member may be gone or stuck. */
  public void suspect(EndpointChannel c) {
    c.suspect(System.nanoTime());
  }

  /** Whether some endpoint other than {@code c} is usable now (there is somewhere better to go). */
  public boolean hasUsableOtherThan(EndpointChannel c) {
    long now = System.nanoTime();
    for (EndpointChannel other : channels) {
      if (other != c && other.isUsable(now)) {
        return true;
      }
    }
    return false;
  }

  /** Replaces the endpoint list (auto-sync), keeping the channels of endpoints that stay. */
  public synchronized void updateEndpoints(List<URI> uris) {
    if (closed || uris.isEmpty()) {
      return;
    }
    List<EndpointChannel> keep = new ArrayList<>();
    for (URI u : uris) {
      EndpointChannel existing = channel(u);
      keep.add(existing != null ? existing : newChannel(u));
    }
    List<EndpointChannel> gone = new ArrayList<>(channels);
    gone.removeAll(keep);
    channels.clear();
    channels.addAll(keep);
    for (EndpointChannel g : gone) {
      log.info("etcd endpoint {} left the member list; closing its channel", g.uri());
      g.channel().shutdown();
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (EndpointChannel c : channels) {
      c.channel().shutdownNow();
    }
    for (EndpointChannel c : channels) {
      try {
        c.channel().awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    scheduler.shutdownNow();
    rpcExecutor.shutdown();
    if (ownedCallbackExecutor != null) {
      ownedCallbackExecutor.shutdown();
    }
    eventLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    awaitEnd(rpcExecutor);
    if (ownedCallbackExecutor != null) {
      awaitEnd(ownedCallbackExecutor);
    }
  }

  private static void awaitEnd(ExecutorService pool) {
    try {
      if (!pool.awaitTermination(5, TimeUnit.SECONDS)) {
        pool.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static ThreadFactory daemonThreads(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** One member's channel and what we know of its health. */
  public static final class EndpointChannel {
    private final URI uri;
    private final ManagedChannel channel;
    private volatile long suspectSince = Long.MIN_VALUE;
    /** The health probe saw it answer without a leader: cleared only by a probe that sees a leader again. */
    private volatile boolean leaderless;

    EndpointChannel(URI uri, ManagedChannel channel) {
      this.uri = uri;
      this.channel = channel;
    }

    public URI uri() {
      return uri;
    }

    public ManagedChannel channel() {
      return channel;
    }

    long suspectSince() {
      return suspectSince;
    }

    void suspect(long now) {
      suspectSince = now;
    }

    /** Clears suspicion after a call succeeded on this member. */
    public void healthy() {
      if (suspectSince != Long.MIN_VALUE) {
        suspectSince = Long.MIN_VALUE;
      }
    }

    /** Set by the health probe from a Status answer (a member cut off from its peers still answers other calls). */
    void leaderless(boolean noLeader) {
      leaderless = noLeader;
    }

    /** Whether new calls and streams should go elsewhere now (suspected recently, or without a leader). */
    public boolean isAvoided(long now) {
      return leaderless || (suspectSince != Long.MIN_VALUE && now - suspectSince < SUSPECT_NANOS);
    }

    boolean isUsable(long now) {
      if (isAvoided(now)) {
        return false;
      }
      return channel.getState(true) != ConnectivityState.TRANSIENT_FAILURE;
    }

    @Override
    public String toString() {
      return uri.toString();
    }
  }
}
