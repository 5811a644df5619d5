package io.etcdrecipes.client;

/**
 * What every etcd response says about where it came from: the cluster, the member that answered, the
 * store revision when the request was applied (or read), and the raft term.
 */
public record ResponseHeader(long clusterId, long memberId, long revision, long raftTerm) {}
