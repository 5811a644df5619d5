package io.etcdrecipes.naming;

import java.util.Objects;

/**
 * One address of a service, as Go's {@code naming/endpoints} stores it: the address ({@code host:port})
 * and optional metadata, kept here as its raw JSON text ({@code null} when there is none).
 */
public record Endpoint(String addr, String metadataJson) {

  public Endpoint {
    Objects.requireNonNull(addr, "addr");
    if (addr.isBlank()) {
      throw new IllegalArgumentException("an endpoint needs an address");
    }
  }

  public static Endpoint of(String addr) {
    return new Endpoint(addr, null);
  }
}
