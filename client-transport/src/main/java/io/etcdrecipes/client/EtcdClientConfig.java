package io.etcdrecipes.client;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * The immutable configuration of an {@link EtcdClient}. Built by {@link EtcdClient#builder()}; its
 * {@link #toString()} never shows the password.
 */
public final class EtcdClientConfig {

  private final List<URI> endpoints;
  private final Duration callTimeout;
  private final Duration connectTimeout;
  private final Duration keepaliveTime;
  private final Duration keepaliveTimeout;
  private final int maxInboundMessageSize;
  private final int maxOutboundMessageSize;
  private final String username;
  private final String password;
  private final ByteSequence namespace;
  private final boolean requireLeader;
  private final boolean watchRequireLeader;
  private final Duration autoSyncInterval;
  private final Executor callbackExecutor;
  private final TlsConfig tls;
  private final int maxRetries;

  EtcdClientConfig(EtcdClient.Builder b) {
    if (b.endpoints.isEmpty()) {
      throw new NoEndpointsException(ErrorCode.INVALID_ARGUMENT, "no etcd endpoints configured", null, null);
    }
    this.endpoints = List.copyOf(b.endpoints);
    this.callTimeout = b.callTimeout;
    this.connectTimeout = b.connectTimeout;
    this.keepaliveTime = b.keepaliveTime;
    this.keepaliveTimeout = b.keepaliveTimeout;
    this.maxInboundMessageSize = b.maxInboundMessageSize;
    this.maxOutboundMessageSize = b.maxOutboundMessageSize;
    this.username = b.username;
    this.password = b.password;
    this.namespace = b.namespace;
    this.requireLeader = b.requireLeader;
    this.watchRequireLeader = b.watchRequireLeader;
    this.autoSyncInterval = b.autoSyncInterval;
    this.callbackExecutor = b.callbackExecutor;
    this.tls = b.tls;
    this.maxRetries = b.maxRetries;
  }

  public List<URI> endpoints() {
    return endpoints;
  }

  /** The deadline of every call unless overridden with {@code withTimeout}. */
  public Duration callTimeout() {
    return callTimeout;
  }

  public Duration connectTimeout() {
    return connectTimeout;
  }

  public Duration keepaliveTime() {
    return keepaliveTime;
  }

  public Duration keepaliveTimeout() {
    return keepaliveTimeout;
  }

  public int maxInboundMessageSize() {
    return maxInboundMessageSize;
  }

  /** Requests larger than this fail before they are sent (Go: MaxCallSendMsgSize, default 2 MiB). */
  public int maxOutboundMessageSize() {
    return maxOutboundMessageSize;
  }

  public String username() {
    return username;
  }

  /** The password; deliberately absent from {@link #toString()}. */
  public String password() {
    return password;
  }

  /** The key prefix applied to every key, or {@code null}. */
  public ByteSequence namespace() {
    return namespace;
  }

  public boolean requireLeader() {
    return requireLeader;
  }

  /** Whether watches ask their member to end them when it has no leader (default true; see the builder). */
  public boolean watchRequireLeader() {
    return watchRequireLeader || requireLeader;
  }

  /** How often the endpoint list is refreshed from the member list, or {@code null} for never. */
  public Duration autoSyncInterval() {
    return autoSyncInterval;
  }

  /** Where user callbacks and future completions run, or {@code null} for the client's own pool. */
  public Executor callbackExecutor() {
    return callbackExecutor;
  }

  /** TLS settings, or {@code null} for plain text. */
  public TlsConfig tls() {
    return tls;
  }

  /** The most attempts a retryable call makes, within its deadline. */
  public int maxRetries() {
    return maxRetries;
  }

  @Override
  public String toString() {
    List<String> parts = new ArrayList<>();
    parts.add("endpoints=" + endpoints);
    parts.add("callTimeout=" + callTimeout);
    parts.add("connectTimeout=" + connectTimeout);
    parts.add("keepalive=" + keepaliveTime + "/" + keepaliveTimeout);
    parts.add("maxMessage=" + maxInboundMessageSize + "/" + maxOutboundMessageSize);
    if (username != null) {
      parts.add("username=" + username);
      parts.add("password=" + (password == null ? "null" : "****"));
    }
    if (namespace != null) {
      parts.add("namespace=" + namespace);
    }
    parts.add("requireLeader=" + requireLeader);
    parts.add("watchRequireLeader=" + watchRequireLeader());
    if (autoSyncInterval != null) {
      parts.add("autoSync=" + autoSyncInterval);
    }
    parts.add("tls=" + (tls != null));
    return "EtcdClientConfig{" + String.join(", ", parts) + "}";
  }

  static Duration positive(Duration d, String name) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + d);
    }
    return d;
  }
}
