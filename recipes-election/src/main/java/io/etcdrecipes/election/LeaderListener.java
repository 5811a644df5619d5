package io.etcdrecipes.election;

import io.etcdrecipes.client.ClosedClientException;
import io.etcdrecipes.client.EtcdException;
import org.slf4j.LoggerFactory;

/**
 * Hears an election's leaders from {@link Election#observe}: every new leader and every value a leader proclaims, in
 * revision order, once each. Called on the client's callback executor, one call at a time, never under a lock of ours.
 */
@FunctionalInterface
public interface LeaderListener {

  /** A new leader, or a new value (proclaim) of the current one. */
  void leaderChanged(LeaderInfo leader);

  /** No candidate is left at {@code revision} (the leader resigned or its session ended, and nobody waits). */
  default void noLeader(long revision) {}

  /**
   * The observation ended with an error it cannot recover from (compaction is recovered from by reading again;
   * this is e.g. a closed client or a permission error). The default logs it.
   */
  default void observationFailed(EtcdException error) {
    if (!(error instanceof ClosedClientException)) {
      LoggerFactory.getLogger(LeaderListener.class).warn("election observation ended: {}", error.toString());
    }
  }
}
