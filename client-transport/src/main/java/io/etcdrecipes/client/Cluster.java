package io.etcdrecipes.client;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Cluster membership: list, add (as a voting member or a learner), remove, update and promote members
 * (Go: {@code clientv3.Cluster}). Changes are admin writes and are never retried once they may have
 * reached a member; the member list is a read and is retried on another member when one is unavailable.
 */
public interface Cluster {

  /** Every member, voting and learner, as the answering member knows them. */
  CompletableFuture<MemberListResponse> memberList();

  /**
   * Adds a voting member that will be reached on {@code peerUrls} (e.g. {@code "http://10.0.0.4:2380"}).
   * The new member must then be started with {@code --initial-cluster-state existing}; until it is, its
   * name and client URLs are empty and the cluster counts it for quorum.
   */
  CompletableFuture<MemberAddResponse> memberAdd(List<String> peerUrls);

  /** Adds a non-voting learner (does not count for quorum until {@link #memberPromote(long) promoted}). */
  CompletableFuture<MemberAddResponse> memberAddAsLearner(List<String> peerUrls);

  /** Removes the member with this ID ({@code MEMBER_NOT_FOUND} when there is none). */
  CompletableFuture<MemberRemoveResponse> memberRemove(long memberId);

  /** Replaces the peer URLs of the member with this ID. */
  CompletableFuture<MemberUpdateResponse> memberUpdate(long memberId, List<String> peerUrls);

  /** Makes a learner that has caught up with the leader a voting member ({@code LEARNER_NOT_READY} else). */
  CompletableFuture<MemberPromoteResponse> memberPromote(long memberId);

  /** This Cluster with another per-call deadline. */
  Cluster withTimeout(Duration timeout);
}
