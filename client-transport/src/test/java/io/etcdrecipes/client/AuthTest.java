package io.etcdrecipes.client;

import static io.etcdrecipes.testkit.Futures.get;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.testkit.Futures;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Auth against a real member with simple tokens that expire after 2 s of idleness: set up through our own
 * client, then wrong passwords, missing permissions, auth switched off, and transparent token refresh.
 */
class AuthTest {

  static final String ROOT_PASSWORD = "r00t-s3cret";

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true)
      .flag("--auth-token", "simple").flag("--auth-token-ttl", "2").build();

  static EtcdClient root;

  @BeforeAll
  static void enableAuth() throws Exception {
    try (EtcdClient admin = EtcdClient.builder().endpoints(etcd.endpoints()).build()) {
      get(admin.kv().put("app/a", "1"));
      get(admin.kv().put("secret/s", "2"));
      get(admin.auth().userAdd("root", ROOT_PASSWORD));
      get(admin.auth().roleAdd("root"));
      get(admin.auth().userGrantRole("root", "root"));
      get(admin.auth().roleAdd("reader"));
      ByteSequence app = ByteSequence.of("app/");
      get(admin.auth().roleGrantPermission("reader", app, app.prefixEnd(), Permission.Type.READ));
      get(admin.auth().userAdd("alice", "alice-pw"));
      get(admin.auth().userGrantRole("alice", "reader"));
      get(admin.auth().userAdd("bob", "bob-pw"));
      get(admin.auth().authEnable());
    }
    root = client("root", ROOT_PASSWORD);
  }

  @AfterAll
  static void close() {
    root.close();
  }

  static EtcdClient client(String user, String password) {
    return EtcdClient.builder().endpoints(etcd.endpoints()).credentials(user, password)
        .callTimeout(Duration.ofSeconds(10)).build();
  }


  @Test
  void usersRolesAndPermissionsAreListed() throws Exception {
    assertThat(get(root.auth().userList()).users()).contains("root", "alice", "bob");
    assertThat(get(root.auth().roleList()).roles()).contains("root", "reader");
    assertThat(get(root.auth().userGet("alice")).roles()).containsExactly("reader");
    assertThat(get(root.auth().userGet("bob")).roles()).isEmpty();
    assertThat(get(root.auth().roleGet("reader")).permissions()).containsExactly(
        new Permission(Permission.Type.READ, ByteSequence.of("app/"), ByteSequence.of("app0")));
    assertThat(Futures.failure(root.auth().userGet("nobody"))).isInstanceOf(EtcdException.class)
        .satisfies(e -> assertThat(((EtcdException) e).serverError()).isEqualTo(ServerError.USER_NOT_FOUND));
  }

  @Test
  void authenticateHandsOutATokenAndRejectsAWrongPassword() throws Exception {
    try (EtcdClient anonymous = EtcdClient.builder().endpoints(etcd.endpoints()).build()) {
      AuthenticateResponse r = get(anonymous.auth().authenticate("alice", "alice-pw"));
      assertThat(r.token()).isNotBlank();
      assertThat(r.toString()).doesNotContain(r.token());
      assertThat(Futures.failure(anonymous.auth().authenticate("alice", "nope"))).isInstanceOf(AuthFailedException.class);
    }
  }

  @Test
  void wrongPasswordIsAuthFailed() {
    try (EtcdClient c = client("alice", "wrong")) {
      assertThat(Futures.failure(c.kv().get("app/a"))).isInstanceOf(AuthFailedException.class)
          .hasMessage(ServerError.AUTH_FAILED.message());
      assertThat(c.authenticateCount()).isEqualTo(1);
    }
  }

  @Test
  void missingPermissionIsPermissionDenied() throws Exception {
    try (EtcdClient alice = client("alice", "alice-pw"); EtcdClient bob = client("bob", "bob-pw")) {
      assertThat(get(alice.kv().get("app/a")).kvs()).hasSize(1);
      assertThat(Futures.failure(alice.kv().put("app/a", "x"))).isInstanceOf(PermissionDeniedException.class);
      assertThat(Futures.failure(alice.kv().get("secret/s"))).isInstanceOf(PermissionDeniedException.class);
      assertThat(Futures.failure(bob.kv().get("app/a"))).isInstanceOf(PermissionDeniedException.class)
          .satisfies(e -> assertThat(((EtcdException) e).code()).isEqualTo(ErrorCode.PERMISSION_DENIED));
      // Not an admin either.
      assertThat(Futures.failure(alice.auth().userList())).isInstanceOf(PermissionDeniedException.class);
    }
  }

  @Test
  void grantsRevokesPasswordChangesAndDeletes() throws Exception {
    get(root.auth().userAdd("carol", "c1"));
    get(root.auth().roleAdd("writer"));
    ByteSequence key = ByteSequence.of("carol/k");
    get(root.auth().roleGrantPermission("writer", key, null, Permission.Type.READWRITE));
    get(root.auth().userGrantRole("carol", "writer"));
    try (EtcdClient carol = client("carol", "c1")) {
      get(carol.kv().put("carol/k", "v"));
      assertThat(Futures.failure(carol.kv().put("carol/other", "v"))).isInstanceOf(PermissionDeniedException.class);
    }
    get(root.auth().userChangePassword("carol", "c2"));
    try (EtcdClient old = client("carol", "c1"); EtcdClient carol = client("carol", "c2")) {
      assertThat(Futures.failure(old.kv().get("carol/k"))).isInstanceOf(AuthFailedException.class);
      assertThat(get(carol.kv().get("carol/k")).kvs()).hasSize(1);
      get(root.auth().roleRevokePermission("writer", key, null));
      assertThat(get(root.auth().roleGet("writer")).permissions()).isEmpty();
      assertThat(Futures.failure(carol.kv().get("carol/k"))).isInstanceOf(PermissionDeniedException.class);
    }
    get(root.auth().userRevokeRole("carol", "writer"));
    assertThat(get(root.auth().userGet("carol")).roles()).isEmpty();
    get(root.auth().userDelete("carol"));
    get(root.auth().roleDelete("writer"));
    assertThat(get(root.auth().userList()).users()).doesNotContain("carol");
    assertThat(get(root.auth().roleList()).roles()).doesNotContain("writer");

    get(root.auth().userAddNoPassword("dave"));
    assertThat(get(root.auth().userList()).users()).contains("dave");
    try (EtcdClient dave = client("dave", "anything")) {
      // 3.4 and 3.5 send their internal auth error here, which Go's rpctypes does not know either.
      assertThat(Futures.failure(dave.kv().get("app/a"))).isInstanceOf(EtcdException.class)
          .hasMessageContaining("password was given for no password user");
    }
    get(root.auth().userDelete("dave"));
  }

  /** AuthStatus came with etcd 3.5: 3.4 answers UNIMPLEMENTED; 3.5 reports auth on, at a revision auth changes bump. */
  @Test
  void authStatusReportsAuthEnabledWhereTheServerHasIt() throws Exception {
    if (!etcd.cluster().version().isAtLeast(3, 5)) {
      assertThat(Futures.failure(root.auth().authStatus())).isInstanceOf(EtcdException.class)
          .satisfies(e -> assertThat(((EtcdException) e).code()).isEqualTo(ErrorCode.UNIMPLEMENTED));
      return;
    }
    AuthStatusResponse before = get(root.auth().authStatus());
    assertThat(before.enabled()).isTrue();
    assertThat(before.authRevision()).isPositive();
    assertThat(before.header().revision()).isPositive();
    get(root.auth().roleAdd("status-probe"));
    try {
      assertThat(get(root.auth().authStatus()).authRevision()).isGreaterThan(before.authRevision());
    } finally {
      get(root.auth().roleDelete("status-probe"));
    }
  }

  @Test
  void credentialsWhileAuthIsDisabledAreAuthNotEnabled() throws Exception {
    get(root.auth().authDisable());
    try (EtcdClient alice = client("alice", "alice-pw");
         EtcdClient anonymous = EtcdClient.builder().endpoints(etcd.endpoints()).build()) {
      // The client authenticates before its first call; with auth off, Authenticate says so.
      assertThat(Futures.failure(alice.kv().get("app/a"))).isInstanceOf(AuthNotEnabledException.class)
          .hasMessage(ServerError.AUTH_NOT_ENABLED.message());
      assertThat(get(anonymous.kv().get("secret/s")).kvs()).hasSize(1);
      // Disabling it again is no error on 3.4 and 3.5.
      get(anonymous.auth().authDisable());
      get(anonymous.auth().authEnable());
    }
    // The root client's token died with auth; it gets a new one by itself.
    assertThat(get(root.kv().get("secret/s")).kvs()).hasSize(1);
  }

  @Test
  void expiredTokenIsRefreshedOnceForFiftyConcurrentCalls() throws Exception {
    try (EtcdClient alice = client("alice", "alice-pw")) {
      get(alice.kv().get("app/a"));
      assertThat(alice.authenticateCount()).isEqualTo(1);
      // The server forgets alice's token, as it does once --auth-token-ttl (2 s) passed without use: a password
      // change (here to the same one) invalidates a user's simple tokens at once, with the same error to the client
      // ("invalid auth token"). Waiting out the TTL could only be a sleep: any call that checks the token renews it.
      get(root.auth().userChangePassword("alice", "alice-pw"));
      List<CompletableFuture<GetResponse>> gets = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        gets.add(alice.kv().get("app/a"));
      }
      for (CompletableFuture<GetResponse> g : gets) {
        assertThat(get(g).kvs()).hasSize(1);
      }
      assertThat(alice.authenticateCount()).isEqualTo(2);
    }
  }

  @Test
  void passwordNeverShowsInTheConfig() {
    assertThat(root.config().toString()).contains("root").doesNotContain(ROOT_PASSWORD);
  }
}
