/**
 * Barriers (planned): a barrier that holds waiters until it is removed, and a double barrier for entering and leaving in groups.
 */
package io.etcdrecipes.barrier;
