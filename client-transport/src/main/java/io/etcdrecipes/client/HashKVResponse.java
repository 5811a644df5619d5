package io.etcdrecipes.client;

/**
 * A hash of a member's key-value store: the unsigned 32-bit hash as a non-negative {@code long}, and the
 * revision the store was compacted to when hashing began.
 */
public record HashKVResponse(ResponseHeader header, long hash, long compactRevision) {}
