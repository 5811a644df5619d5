/**
 * Real etcd clusters for tests: {@link io.etcdrecipes.testkit.EtcdCluster} (1 to 5 etcd processes on loopback),
 * fault injection through {@link io.etcdrecipes.testkit.EtcdMember} and {@link io.etcdrecipes.testkit.TcpProxy},
 * and the JUnit 5 {@link io.etcdrecipes.testkit.EtcdClusterExtension}. The {@code internal} package is not API.
 */
package io.etcdrecipes.testkit;
