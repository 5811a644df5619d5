package io.etcdrecipes.client;

/** One renewal of a lease: its new TTL in seconds, counted from now. */
public record LeaseKeepAliveResponse(ResponseHeader header, long id, long ttl) {}
