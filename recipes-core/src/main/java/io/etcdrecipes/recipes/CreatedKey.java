package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;

/**
 * A key a recipe created with {@link UniqueKey} or {@link SequentialKey} (Go's {@code RemoteKV}).
 *
 * @param revision the revision of the transaction that created it, which is its create revision
 */
public record CreatedKey(ByteSequence key, ByteSequence value, long revision) {}
