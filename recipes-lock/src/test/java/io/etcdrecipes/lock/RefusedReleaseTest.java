package io.etcdrecipes.lock;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.Permission;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A release that etcd refuses for good (issue 17, deliverable 4): the application's role loses its write permission on
 * the lock's prefix while a thread holds the lock, so the guarded delete is answered {@code PERMISSION_DENIED}. On the
 * old code that counted as "retrying cannot help": the local turn passed on while the key still existed, and the next
 * thread on that session owned the same key with the same fencing token at once. Now the turn stays until the key is
 * gone: the delete is retried, and once the permission is back the key goes and the next thread gets a new token.
 * Runs with RBAC limited to the application's prefix plus a fence prefix of its own ({@code Session.Builder.fencePrefix}):
 * with the default fence prefix every create would be refused.
 */
class RefusedReleaseTest {

  private static final String ROOT_PASSWORD = "r00t-s3cret";
  private static final ByteSequence APP = ByteSequence.of("rr/");
  private static final ByteSequence FENCES = ByteSequence.of("rr-fences/"); // a fence prefix of its own (Session.Builder.fencePrefix)

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private static EtcdClient root;

  @BeforeAll
  static void enableAuth() throws Exception {
    try (EtcdClient admin = EtcdClient.builder().endpoints(etcd.endpoints()).build()) {
      get(admin.auth().userAdd("root", ROOT_PASSWORD));
      get(admin.auth().roleAdd("root"));
      get(admin.auth().userGrantRole("root", "root"));
      get(admin.auth().roleAdd("app"));
      get(admin.auth().roleGrantPermission("app", APP, APP.prefixEnd(), Permission.Type.READWRITE));
      get(admin.auth().roleGrantPermission("app", FENCES, FENCES.prefixEnd(), Permission.Type.READWRITE));
      get(admin.auth().userAdd("worker", "worker-pw"));
      get(admin.auth().userGrantRole("worker", "app"));
      get(admin.auth().authEnable());
    }
    root = EtcdClient.builder().endpoints(etcd.endpoints()).credentials("root", ROOT_PASSWORD).build();
  }

  @AfterAll
  static void closeRoot() {
    if (root != null) {
      root.close();
    }
  }

  @Test
  void aRefusedReleaseKeepsTheLocalTurnUntilTheKeyIsGone() throws Exception {
    try (EtcdClient worker = EtcdClient.builder().endpoints(etcd.endpoints()).credentials("worker", "worker-pw")
        .callTimeout(Timing.seconds(5)).build();
         Session s = Session.builder(worker).ttl(Duration.ofSeconds(30)).fencePrefix("rr-fences/")
             .build(Timing.seconds(10))) {
      Ownership held = Mutex.create(s, "rr/lock").lock(Timing.seconds(5));

      // the role may still read the prefix, but no longer write it: the holder's delete is refused
      get(root.auth().roleRevokePermission("app", APP, APP.prefixEnd()));
      get(root.auth().roleGrantPermission("app", APP, APP.prefixEnd(), Permission.Type.READ));
      held.close(); // never throws; the delete is refused and retried in the background
      assertThat(get(root.kv().get(held.key())).first()).isNotNull();

      CompletableFuture<Ownership> next = Mutex.create(s, "rr/lock").lockAsync();
      // on the old code this completed at once, with the old key and token
      await().during(Timing.millis(1_500)).atMost(Timing.seconds(5)).until(() -> !next.isDone());

      get(root.auth().roleGrantPermission("app", APP, APP.prefixEnd(), Permission.Type.READWRITE));
      try (Ownership again = next.get(Timing.seconds(10).toMillis(), TimeUnit.MILLISECONDS)) {
        assertThat(again.fencingToken()).isGreaterThan(held.fencingToken());
        assertThat(again.isValid()).isTrue();
      }
      await().atMost(Timing.seconds(5)).until(() -> get(root.kv().get(APP, io.etcdrecipes.client.GetOption.prefix()))
          .kvs().isEmpty());
    }
  }
}
