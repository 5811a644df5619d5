/**
 * A KV wrapper that serves linearizable single-key reads from a local cache while this client holds the
 * key's leasing key (Go's {@code clientv3/leasing} protocol): {@link io.etcdrecipes.recipes.leasing.LeasingKV}.
 */
package io.etcdrecipes.recipes.leasing;
