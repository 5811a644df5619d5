package io.etcdrecipes.client;

/**
 * One stored key as etcd returned it.
 *
 * @param createRevision revision of the write that created the key; for a lock or election key, the
 *     fencing token
 * @param modRevision revision of the last write to the key
 * @param version number of writes since creation
 * @param lease the attached lease, or 0
 */
public record KeyValue(ByteSequence key, ByteSequence value, long createRevision, long modRevision,
                       long version, long lease) {}
