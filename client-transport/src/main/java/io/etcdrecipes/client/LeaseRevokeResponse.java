package io.etcdrecipes.client;

/** A revoked lease; its keys were deleted at {@code header().revision()}. */
public record LeaseRevokeResponse(ResponseHeader header) {}
