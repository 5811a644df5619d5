/**
 * Distributed locks (planned): a mutex and a read-write lock whose keys are byte-identical to etcd's Go concurrency package, and a semaphore; each lock hands out a fencing token (the create revision of its key) and a guard for writes made in its name.
 */
package io.etcdrecipes.lock;
