package io.etcdrecipes.client;

/**
 * Hears about one kept-alive lease. Called on the client's callback executor, never on a gRPC thread,
 * one call at a time and in order for each lease.
 */
public interface KeepAliveListener {

  /** The lease was renewed. */
  default void onRenewed(LeaseKeepAliveResponse response) {}

  /**
   * The lease is lost: the server said it does not exist (expired or revoked: {@link LeaseNotFoundException}),
   * or its TTL, counted from when the last answered renewal was sent, ran out here without another one
   * ({@link EtcdException} with {@link ErrorCode#DEADLINE_EXCEEDED}). Final: no more calls follow.
   */
  void onLost(EtcdException cause);
}
