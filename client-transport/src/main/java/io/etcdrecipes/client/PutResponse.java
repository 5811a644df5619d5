package io.etcdrecipes.client;

/** The result of a put; {@code prevKv} is set when asked for and the key existed, else {@code null}. */
public record PutResponse(ResponseHeader header, KeyValue prevKv) implements OpResponse {}
