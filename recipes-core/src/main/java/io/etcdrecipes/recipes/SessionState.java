package io.etcdrecipes.recipes;

/**
 * The connection state of a {@link Session}, as in Apache Curator.
 *
 * <pre>
 *              first success after SUSPENDED
 *           ┌──────────────────────────────────────┐
 *           ▼                                      │
 *   CONNECTED ──no renewal for suspendAfter──▶ SUSPENDED ──▶ ... ──▶ RECONNECTED ──▶ (SUSPENDED again ...)
 *       │       or a renewal failed                │                      │
 *       └──────────────────────┬───────────────────┴──────────────────────┘
 *                              ▼
 *                             LOST   (final: server says the lease is gone, TTL ran out locally,
 *                                     closed, orphaned, or the client closed)
 * </pre>
 */
public enum SessionState {
  /** Renewals succeed; the lease is alive. The state a session starts in. */
  CONNECTED,
  /**
   * No successful renewal for longer than the suspend threshold, or a renewal failed. The lease may still be
   * alive on the server, but this process can no longer tell; a safe recipe stops acting in its name.
   */
  SUSPENDED,
  /** A renewal succeeded again after {@link #SUSPENDED}: the same lease is alive, everything attached kept. */
  RECONNECTED,
  /** The lease is gone, or this session no longer keeps it. Final. */
  LOST;

  /** Renewals are currently succeeding ({@link #CONNECTED} or {@link #RECONNECTED}). */
  public boolean isConnected() {
    return this == CONNECTED || this == RECONNECTED;
  }
}
