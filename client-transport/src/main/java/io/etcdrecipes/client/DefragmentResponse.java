package io.etcdrecipes.client;

/** A finished defragmentation. */
public record DefragmentResponse(ResponseHeader header) {}
