package io.etcdrecipes.client;

/** The answer to an auth change that returns nothing but where it was applied. */
public record AuthResponse(ResponseHeader header) {}
