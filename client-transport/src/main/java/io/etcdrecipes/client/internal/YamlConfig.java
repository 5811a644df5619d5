package io.etcdrecipes.client.internal;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.TlsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a client configuration in the YAML format of etcd's Go {@code clientv3/yaml} package: durations
 * are integers in nanoseconds (Go's time.Duration), TLS comes from file paths. Keys Go accepts but that
 * have no meaning here ({@code reject-old-cluster}, {@code permit-without-stream}) are accepted and
 * ignored; unknown keys are ignored with a warning, as Go's decoder ignores them.
 */
public final class YamlConfig {

  private static final Logger log = LoggerFactory.getLogger(YamlConfig.class);

  private static final Set<String> IGNORED = Set.of("reject-old-cluster", "permit-without-stream",
      "max-call-send-msg-size", "max-call-recv-msg-size");

  private YamlConfig() {}

  public static EtcdClient.Builder load(Path file, EtcdClient.Builder builder) {
    try (InputStream in = Files.newInputStream(file)) {
      return load(in, file.toString(), builder);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read etcd client config " + file + ": " + e.getMessage(), e);
    }
  }

  public static EtcdClient.Builder load(InputStream in, String source, EtcdClient.Builder b) {
    Object root;
    try {
      root = new Load(LoadSettings.builder().build()).loadFromInputStream(in);
    } catch (YamlEngineException e) {
      throw new IllegalArgumentException("bad YAML in " + source + ": " + e.getMessage(), e);
    }
    if (!(root instanceof Map)) {
      throw new IllegalArgumentException(source + ": expected a mapping of settings at the top level");
    }
    Map<?, ?> m = (Map<?, ?>) root;
    Path cert = null;
    Path key = null;
    Path ca = null;
    boolean insecureTransport = false;
    boolean skipVerify = false;
    for (Map.Entry<?, ?> e : m.entrySet()) {
      String k = String.valueOf(e.getKey());
      Object v = e.getValue();
      switch (k) {
        case "endpoints":
          b.endpoints(strings(source, k, v).toArray(new String[0]));
          break;
        case "auto-sync-interval":
          Duration sync = nanos(source, k, v);
          b.autoSyncInterval(sync.isZero() ? null : sync);
          break;
        case "dial-timeout":
          Duration dial = nanos(source, k, v);
          if (!dial.isZero()) {
            b.connectTimeout(dial);
          }
          break;
        case "dial-keep-alive-time":
        case "dial-keep-alive-timeout":
          // applied together below
          break;
        case "username":
          break;
        case "password":
          break;
        case "insecure-transport":
          insecureTransport = bool(source, k, v);
          break;
        case "insecure-skip-tls-verify":
          skipVerify = bool(source, k, v);
          break;
        case "cert-file":
          cert = path(v);
          break;
        case "key-file":
          key = path(v);
          break;
        case "trusted-ca-file":
        case "ca-file":
          if (ca == null || k.equals("trusted-ca-file")) {
            ca = path(v);
          }
          break;
        default:
          if (!IGNORED.contains(k)) {
            log.warn("{}: unknown etcd client setting '{}' ignored", source, k);
          }
      }
    }
    Object kaTime = m.get("dial-keep-alive-time");
    Object kaTimeout = m.get("dial-keep-alive-timeout");
    if (kaTime != null || kaTimeout != null) {
      Duration t = kaTime == null ? Duration.ofSeconds(30) : nanos(source, "dial-keep-alive-time", kaTime);
      Duration to = kaTimeout == null ? Duration.ofSeconds(10) : nanos(source, "dial-keep-alive-timeout", kaTimeout);
      if (!t.isZero() && !to.isZero()) {
        b.keepalive(t, to);
      }
    }
    Object user = m.get("username");
    if (user != null && !String.valueOf(user).isEmpty()) {
      Object pw = m.get("password");
      b.credentials(String.valueOf(user), pw == null ? "" : String.valueOf(pw));
    }
    if (!insecureTransport && (cert != null || key != null || ca != null || skipVerify)) {
      if ((cert == null) != (key == null)) {
        throw new IllegalArgumentException(source + ": cert-file and key-file must be given together");
      }
      TlsConfig tls = ca != null ? TlsConfig.trusting(ca) : TlsConfig.systemTrust();
      if (cert != null) {
        tls = tls.withClientCertificate(cert, key);
      }
      b.tls(skipVerify ? tls.insecureSkipVerify() : tls);
    }
    return b;
  }

  private static Path path(Object v) {
    return v == null || String.valueOf(v).isEmpty() ? null : Path.of(String.valueOf(v));
  }

  private static List<String> strings(String source, String key, Object v) {
    if (v instanceof List) {
      List<String> out = new ArrayList<>();
      for (Object o : (List<?>) v) {
        out.add(String.valueOf(o));
      }
      return out;
    }
    if (v instanceof String) {
      return List.of((String) v);
    }
    throw new IllegalArgumentException(source + ": '" + key + "' must be a list of endpoints, got " + v);
  }

  private static boolean bool(String source, String key, Object v) {
    if (v instanceof Boolean) {
      return (Boolean) v;
    }
    throw new IllegalArgumentException(source + ": '" + key + "' must be true or false, got " + v);
  }

  private static Duration nanos(String source, String key, Object v) {
    if (v instanceof Number) {
      long n = ((Number) v).longValue();
      if (n < 0) {
        throw new IllegalArgumentException(source + ": '" + key + "' must not be negative, got " + n);
      }
      return Duration.ofNanos(n);
    }
    throw new IllegalArgumentException(source + ": '" + key + "' is a duration in nanoseconds (an integer, as in "
        + "Go's time.Duration), got '" + v + "'");
  }
}
