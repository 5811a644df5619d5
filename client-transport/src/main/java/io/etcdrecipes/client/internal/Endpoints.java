package io.etcdrecipes.client.internal;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/** Parses etcd endpoint strings the way etcdctl accepts them. */
public final class Endpoints {

  private Endpoints() {}

  /**
   * {@code "http://h:2379,https://h2:2379"}, {@code "h:2379"} (plain text) or a single URL. A missing port
   * is 2379. Anything else is an {@link IllegalArgumentException} that names the bad part.
   */
  public static List<URI> parse(String endpoints) {
    List<URI> out = new ArrayList<>();
    for (String part : endpoints.split(",")) {
      String e = part.trim();
      if (e.isEmpty()) {
        continue;
      }
      out.add(parseOne(e));
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("no endpoint in \"" + endpoints + "\"");
    }
    return out;
  }

  public static URI parseOne(String endpoint) {
    String e = endpoint.contains("://") ? endpoint : "http://" + endpoint;
    URI uri;
    try {
      uri = URI.create(e);
    } catch (IllegalArgumentException ex) {
      throw new IllegalArgumentException("bad etcd endpoint \"" + endpoint + "\": " + ex.getMessage(), ex);
    }
    String scheme = uri.getScheme();
    if (!"http".equals(scheme) && !"https".equals(scheme)) {
      throw new IllegalArgumentException("bad etcd endpoint \"" + endpoint + "\": scheme must be http or https");
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("bad etcd endpoint \"" + endpoint + "\": no host");
    }
    int port = uri.getPort() < 0 ? 2379 : uri.getPort();
    return URI.create(scheme + "://" + uri.getHost() + ":" + port);
  }
}
