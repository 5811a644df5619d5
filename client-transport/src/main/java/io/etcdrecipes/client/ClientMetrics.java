package io.etcdrecipes.client;

import java.util.function.Supplier;

/**
 * Where a client reports what it measures: every call it completes, and a few gauges. Implement it to feed any
 * metrics system; {@link MicrometerMetrics} is the binding we ship. Called on the client's threads (never under a
 * lock of ours, never blocking the caller's future: the call is counted just before its future completes), so an
 * implementation must be fast and thread-safe.
 */
public interface ClientMetrics {

  /**
   * One call ended.
   *
   * @param service the gRPC service, e.g. {@code etcdserverpb.KV}
   * @param method the RPC, e.g. {@code Range}, {@code Put}, {@code Txn}
   * @param code {@link ErrorCode#OK} or the code of the failure the caller got
   * @param nanos how long it took, retries included
   */
  void callEnded(String service, String method, ErrorCode code, long nanos);

  /**
   * A gauge the client keeps current ({@code etcd.client.watches}: open watches, {@code etcd.client.leases.kept.alive}):
   * read {@code value} whenever a reading is wanted. Registered once, when the client is built.
   */
  default void gauge(String name, String description, Supplier<Number> value) {}
}
