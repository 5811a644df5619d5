package io.etcdrecipes.election;

/**
 * Hears a {@link LeaderLatch} gain and lose leadership (Curator's {@code LeaderLatchListener}). Called on the latch's
 * executor, one call at a time, in order: {@code isLeader}, {@code notLeader}, {@code isLeader}, ...
 */
public interface LeaderLatchListener {

  /** This participant leads now; {@code term} carries the fencing token and guard for its writes. */
  void isLeader(Leadership term);

  /** This participant no longer leads: stop acting as leader now (its term's guard already fails, or soon will). */
  void notLeader();
}
