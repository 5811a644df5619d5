package io.etcdrecipes.client;

/** A finished leadership transfer. */
public record MoveLeaderResponse(ResponseHeader header) {}
