package io.etcdrecipes.recipes;

/**
 * The connection state of a {@link Session}, as in Apache Curator.
 *
 * <pre>
 *  CONNECTED ── no successful renewal for suspendAfter, ──▶ SUSPENDED
 *                   or a renewal failed                    │      ▲
 *                                    first successful      │      │ no successful renewal for
 *                                    renewal               ▼      │ suspendAfter, or a renewal failed
 *                                                       RECONNECTED
 *
 *  CONNECTED, SUSPENDED or RECONNECTED ──▶ LOST (final): the server says the lease is gone, its TTL ran
 *  out locally, close(), orphan(), or the client was closed ({@link SessionLostException.Reason})
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
