package io.etcdrecipes.naming;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Go's stored form of an endpoint: {@code {"Op":0,"Addr":"host:port","Metadata":...}}. */
final class EndpointCodec {

  private static final ObjectMapper JSON = new ObjectMapper();

  private EndpointCodec() {}

  static String encode(Endpoint e) {
    ObjectNode n = JSON.createObjectNode();
    n.put("Op", 0);
    n.put("Addr", e.addr());
    try {
      n.set("Metadata", e.metadataJson() == null ? JSON.nullNode() : JSON.readTree(e.metadataJson()));
      return JSON.writeValueAsString(n);
    } catch (JsonProcessingException ex) {
      throw new IllegalArgumentException("endpoint metadata is not valid JSON: " + e.metadataJson(), ex);
    }
  }

  /** The endpoint in a stored value, or {@code null} when the value is not Go's JSON form. */
  static Endpoint decode(String value) {
    try {
      JsonNode n = JSON.readTree(value);
      if (n == null || !n.isObject() || !n.hasNonNull("Addr") || n.path("Addr").asText().isBlank()) {
        return null;
      }
      JsonNode md = n.get("Metadata");
      return new Endpoint(n.get("Addr").asText(), md == null || md.isNull() ? null : JSON.writeValueAsString(md));
    } catch (JsonProcessingException ex) {
      return null;
    }
  }
}
