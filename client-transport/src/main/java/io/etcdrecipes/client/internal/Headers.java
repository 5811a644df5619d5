package io.etcdrecipes.client.internal;

import io.grpc.Metadata;

/** The request metadata etcd reads. */
final class Headers {
  /** The auth token (Go: rpctypes.TokenFieldNameGRPC). */
  static final Metadata.Key<String> TOKEN = Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);
  /** Ask the member to fail the call when it has no leader (Go: WithRequireLeader). */
  static final Metadata.Key<String> HAS_LEADER = Metadata.Key.of("hasleader", Metadata.ASCII_STRING_MARSHALLER);

  private Headers() {}
}
