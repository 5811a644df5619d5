package io.etcdrecipes.recipes;

/**
 * How a recipe treats a {@link SessionState#SUSPENDED} session (Curator's {@code ConnectionStateErrorPolicy}).
 */
public enum SessionPolicy {

  /**
   * The safe default: a suspended session is treated as lost. A lock holder or leader stops acting as soon
   * as renewals stop succeeding, before the lease could have expired on the server.
   */
  SUSPENDED_IS_LOST,

  /**
   * Only {@link SessionState#LOST} counts. A recipe keeps its lock or leadership through short outages, at
   * the risk of acting after the server expired the lease; use fencing tokens when choosing this.
   */
  ONLY_LOST;

  /** Whether a recipe under this policy may still act in the session's name in state {@code state}. */
  public boolean isUsable(SessionState state) {
    return this == ONLY_LOST ? state != SessionState.LOST : state.isConnected();
  }

  /** Whether a recipe under this policy must treat state {@code state} as lost. */
  public boolean isLost(SessionState state) {
    return !isUsable(state);
  }
}
