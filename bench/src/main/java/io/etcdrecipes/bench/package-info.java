/**
 * Benchmarks (planned): our client side by side with jetcd in one run.
 */
package io.etcdrecipes.bench;
