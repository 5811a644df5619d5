/**
 * Benchmarks: our client side by side with jetcd 0.8.5 in one JVM run against a single-member etcd
 * ({@code bench/run.sh}; results in {@code bench/results/}, figures in {@code docs/benchmarks.md}).
 */
package io.etcdrecipes.bench;
