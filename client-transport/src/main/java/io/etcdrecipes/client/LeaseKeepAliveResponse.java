package io.etcdrecipes.client;

/**
 * One renewal of a lease.
 *
 * @param header the server's header
 * @param id the lease
 * @param ttl its new TTL in seconds; {@code <= 0} never reaches a caller (that is a lost lease)
 * @param requestSentNanos the {@link System#nanoTime()} at which the request this answers was sent. The server
 *     renewed the lease no earlier than that, so the lease lives at least until {@code requestSentNanos + ttl}:
 *     whoever keeps a local clock of the lease must start it here, never at the answer's arrival (which can be
 *     long after the renewal, e.g. when the process was paused with the answer in flight).
 */
public record LeaseKeepAliveResponse(ResponseHeader header, long id, long ttl, long requestSentNanos) {}
