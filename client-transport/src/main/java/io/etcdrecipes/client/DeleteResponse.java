package io.etcdrecipes.client;

import java.util.List;

/** The result of a delete: how many keys went, and which when asked for. */
public record DeleteResponse(ResponseHeader header, long deleted, List<KeyValue> prevKvs) implements OpResponse {}
