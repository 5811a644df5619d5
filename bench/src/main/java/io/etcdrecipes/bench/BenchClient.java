package io.etcdrecipes.bench;

/**
 * A client in the comparison: a {@link Target}, which this JVM drives call by call ({@code etcd-recipes}, {@code jetcd}),
 * or {@link GoTarget}, etcd's Go client in a child process that runs each cell itself.
 */
interface BenchClient extends AutoCloseable {

  /** {@code etcd-recipes}, {@code jetcd} or {@code go}: the client column of the results. */
  String name();

  @Override
  void close();
}
