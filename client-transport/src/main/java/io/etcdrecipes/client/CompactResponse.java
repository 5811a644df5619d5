package io.etcdrecipes.client;

/** The result of a compaction. */
public record CompactResponse(ResponseHeader header) {}
