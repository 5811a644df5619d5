package io.etcdrecipes.client;

/** A hash of a member's backend: the unsigned 32-bit hash as a non-negative {@code long}. */
public record HashResponse(ResponseHeader header, long hash) {}
