package io.etcdrecipes.naming;

/** A change of a service's endpoints: {@code key} is the endpoint's etcd key ({@code target + "/" + ...}). */
public record EndpointUpdate(Op op, String key, Endpoint endpoint) {

  /** Go's {@code endpoints.Operation}: Add = 0, Delete = 1. */
  public enum Op { ADD, DELETE }

  public static EndpointUpdate add(String key, Endpoint endpoint) {
    return new EndpointUpdate(Op.ADD, key, endpoint);
  }

  public static EndpointUpdate delete(String key) {
    return new EndpointUpdate(Op.DELETE, key, null);
  }
}
