package io.etcdrecipes.client;

import java.util.List;

/**
 * What the server knows of a lease: the remaining TTL in seconds (-1 when the lease does not exist), the
 * TTL it was granted with, and, when asked for, the keys attached to it.
 */
public record LeaseTimeToLiveResponse(ResponseHeader header, long id, long ttl, long grantedTtl,
                                      List<ByteSequence> keys) {}
