package io.etcdrecipes.client;

import java.io.OutputStream;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Maintenance (Go: {@code clientv3.Maintenance}): member status, alarms, defragmentation, store hashes,
 * snapshots and leadership transfer.
 *
 * <p>Calls that take an {@code endpoint} go to that member only, on the client's existing connection to it,
 * and never fail over to another member. The endpoint must be one of the client's endpoints (compared after
 * the same normalisation as the builder applies, so {@code "http://127.0.0.1:2379"} and
 * {@code "127.0.0.1:2379"} are the same); any other fails the future with an
 * {@link IllegalArgumentException} that names it.
 */
public interface Maintenance {

  /** The status of one member: version, database size, its idea of the leader, raft indexes, errors. */
  CompletableFuture<StatusResponse> status(URI endpoint);

  /** Every alarm raised in the cluster (empty when all is well). */
  CompletableFuture<AlarmResponse> alarmList();

  /**
   * Clears an alarm: {@code memberId} 0 and {@link AlarmType#NONE} match any member and any alarm. For
   * {@code NOSPACE}, free space first (compact and defragment), or the alarm is raised again.
   */
  CompletableFuture<AlarmResponse> alarmDisarm(long memberId, AlarmType type);

  /**
   * Defragments one member's backend file, giving the space of deleted and compacted revisions back to the
   * file system. The member stops serving while it runs; do one member at a time.
   */
  CompletableFuture<DefragmentResponse> defragment(URI endpoint);

  /** A hash of one member's whole backend (for tests and consistency checks; members may differ). */
  CompletableFuture<HashResponse> hash(URI endpoint);

  /**
   * A hash of one member's key-value store up to {@code revision} (0 for the latest); members with the
   * same compaction give the same hash for the same revision.
   */
  CompletableFuture<HashKVResponse> hashKV(URI endpoint, long revision);

  /**
   * Streams a snapshot of the backend of one member into {@code out}, chunk by chunk as they arrive (never
   * the whole snapshot in memory), on the client's callback executor; the next chunk is requested only once
   * the previous one is written. {@code out} is neither flushed nor closed: it is the caller's. Completes
   * with the number of bytes written. A failure to write completes the future with that
   * {@link java.io.IOException} and cancels the stream; what was written so far is then incomplete.
   *
   * <p>The whole transfer has this Maintenance's deadline; for a large store use {@link #withTimeout}.
   * Not retried: a snapshot that failed half-way must be started again by the caller.
   */
  CompletableFuture<Long> snapshot(OutputStream out);

  /**
   * Hands leadership to the member {@code transfereeId} (a voting member). The request must reach the
   * current leader: this asks every endpoint for its status, sends it to the one that is leader, and fails
   * with an {@link EtcdException} when no endpoint of this client is.
   */
  CompletableFuture<MoveLeaderResponse> moveLeader(long transfereeId);

  /** This Maintenance with another per-call deadline. */
  Maintenance withTimeout(Duration timeout);
}
