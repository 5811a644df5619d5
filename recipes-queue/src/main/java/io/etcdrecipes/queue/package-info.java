/**
 * Queues (planned): a FIFO queue and a priority queue on sequential keys.
 */
package io.etcdrecipes.queue;
