package io.etcdrecipes.client;

/**
 * What {@code ClusterMaintenanceTest} still calls {@code new Etcdctl(endpoints).run(...)}: a delegate to the testkit's
 * {@link io.etcdrecipes.testkit.Etcdctl}, which every other test uses directly. Remove once that test imports it.
 */
final class Etcdctl {
  private final io.etcdrecipes.testkit.Etcdctl etcdctl;

  Etcdctl(String endpoints) {
    this.etcdctl = new io.etcdrecipes.testkit.Etcdctl(endpoints);
  }

  String run(String... args) {
    return etcdctl.run(args);
  }
}
