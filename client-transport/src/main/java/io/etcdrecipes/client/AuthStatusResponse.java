package io.etcdrecipes.client;

/** Whether auth is enabled, and the revision of the auth store (bumped by every auth change). etcd 3.5+. */
public record AuthStatusResponse(ResponseHeader header, boolean enabled, long authRevision) {}
