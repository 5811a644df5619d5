package io.etcdrecipes.client;

/** A granted lease: its ID and the TTL in seconds the server chose (it may round a small TTL up). */
public record LeaseGrantResponse(ResponseHeader header, long id, long ttl) {}
