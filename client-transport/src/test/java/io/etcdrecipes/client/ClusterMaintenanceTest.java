package io.etcdrecipes.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.testkit.Etcdctl;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Cluster and Maintenance against a real 3-member cluster. */
class ClusterMaintenanceTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).fastElections()
      .unsafeNoFsync(true).build();

  static EtcdClient client;

  @BeforeAll
  static void connect() {
    client = EtcdClient.builder().endpoints(etcd.endpoints()).build();
  }

  @AfterAll
  static void close() {
    client.close();
  }

  /** Throws ExecutionException (not the cause): these tests assert on the wrapped cause. */
  static <T> T get(java.util.concurrent.CompletableFuture<T> f) throws Exception {
    return f.get(20, TimeUnit.SECONDS);
  }

  static URI uri(EtcdMember m) {
    return URI.create(m.clientEndpoint());
  }

  /** Member ID by testkit member, from the status each member reports about itself. */
  static Map<String, Long> idsByName() throws Exception {
    Map<String, Long> ids = new HashMap<>();
    for (Member m : get(client.cluster().memberList()).members()) {
      ids.put(m.name(), m.id());
    }
    return ids;
  }

  @Test
  void memberListMatchesTheTestkitMembers() throws Exception {
    MemberListResponse list = get(client.cluster().memberList());
    assertThat(list.members()).hasSize(3);
    Set<String> names = new HashSet<>();
    for (EtcdMember tm : etcd.members()) {
      Member m = list.members().stream().filter(x -> x.name().equals(tm.name())).findFirst().orElseThrow();
      names.add(m.name());
      assertThat(m.peerUrls()).containsExactly(URI.create(tm.peerEndpoint()));
      assertThat(m.clientUrls()).containsExactly(URI.create(tm.clientEndpoint()));
      assertThat(m.learner()).isFalse();
      assertThat(m.id()).isNotZero();
    }
    assertThat(names).hasSize(3);
    assertThat(list.header().clusterId()).isNotZero();
  }

  @Test
  void learnerIsAddedUpdatedRefusedPromotionAndRemoved() throws Exception {
    // etcd refuses membership changes until the leader has been connected to every member for 5 s.
    MemberAddResponse added = await().atMost(Duration.ofSeconds(20)).ignoreExceptionsMatching(
            e -> e.getCause() instanceof EtcdException
                && ((EtcdException) e.getCause()).serverError() == ServerError.UNHEALTHY)
        .until(() -> get(client.cluster().memberAddAsLearner(List.of("http://127.0.0.1:1"))), r -> true);
    Member learner = added.member();
    assertThat(learner.learner()).isTrue();
    assertThat(learner.name()).isEmpty();
    assertThat(learner.clientUrls()).isEmpty();
    assertThat(learner.peerUrls()).containsExactly(URI.create("http://127.0.0.1:1"));
    assertThat(added.members()).hasSize(4).contains(learner);
    try {
      assertThat(get(client.cluster().memberList()).members()).extracting(Member::id).contains(learner.id());

      MemberUpdateResponse updated = get(client.cluster().memberUpdate(learner.id(), List.of("http://127.0.0.1:2")));
      assertThat(updated.members()).filteredOn(m -> m.id() == learner.id()).singleElement()
          .satisfies(m -> assertThat(m.peerUrls()).containsExactly(URI.create("http://127.0.0.1:2")));

      // It never started, so it is not in sync with the leader.
      assertThatThrownBy(() -> get(client.cluster().memberPromote(learner.id())))
          .hasCauseInstanceOf(EtcdException.class)
          .satisfies(e -> assertThat(((EtcdException) e.getCause()).serverError())
              .isEqualTo(ServerError.LEARNER_NOT_READY));
    } finally {
      MemberRemoveResponse removed = get(client.cluster().memberRemove(learner.id()));
      assertThat(removed.members()).hasSize(3).extracting(Member::id).doesNotContain(learner.id());
    }
    assertThatThrownBy(() -> get(client.cluster().memberRemove(learner.id())))
        .satisfies(e -> assertThat(((EtcdException) e.getCause()).serverError())
            .isEqualTo(ServerError.MEMBER_NOT_FOUND));
  }

  @Test
  void badPeerUrlsFailBeforeSending() {
    assertThatThrownBy(() -> get(client.cluster().memberAdd(List.of("not a url"))))
        .hasCauseInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a url");
    assertThatThrownBy(() -> get(client.cluster().memberAdd(List.of())))
        .hasCauseInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void statusOfEveryEndpoint() throws Exception {
    Map<String, Long> ids = idsByName();
    Set<Long> leaders = new HashSet<>();
    for (EtcdMember m : etcd.members()) {
      StatusResponse s = get(client.maintenance().status(uri(m)));
      assertThat(s.version()).isEqualTo(etcd.cluster().version().toString()); // the testkit's etcd --version
      assertThat(s.header().memberId()).isEqualTo(ids.get(m.name()));
      assertThat(s.raftIndex()).isPositive();
      assertThat(s.raftTerm()).isPositive();
      assertThat(s.dbSize()).isPositive();
      assertThat(s.errors()).isEmpty();
      assertThat(s.isLearner()).isFalse();
      leaders.add(s.leader());
    }
    assertThat(leaders).hasSize(1);
    assertThat(leaders.iterator().next()).isEqualTo(ids.get(etcd.cluster().leader().name()));
    // The same endpoint spelt with a trailing slash is the same endpoint.
    assertThat(get(client.maintenance().status(URI.create(etcd.member(0).clientEndpoint() + "/"))).header().memberId())
        .isEqualTo(ids.get(etcd.member(0).name()));
  }

  @Test
  void unknownEndpointIsRefusedByName() {
    assertThatThrownBy(() -> get(client.maintenance().status(URI.create("http://127.0.0.1:1"))))
        .hasCauseInstanceOf(IllegalArgumentException.class).hasMessageContaining("http://127.0.0.1:1");
    assertThatThrownBy(() -> get(client.maintenance().defragment(URI.create("http://10.9.9.9:2379"))))
        .hasCauseInstanceOf(IllegalArgumentException.class).hasMessageContaining("10.9.9.9");
  }

  @Test
  void alarmListIsEmptyAndDisarmingNothingClearsNothing() throws Exception {
    assertThat(get(client.maintenance().alarmList()).alarms()).isEmpty();
    assertThat(get(client.maintenance().alarmDisarm(0, AlarmType.NONE)).alarms()).isEmpty();
  }

  @Test
  void hashAndHashKvAgreeAcrossMembers() throws Exception {
    long rev = get(client.kv().put("hash/k", "v")).header().revision();
    HashResponse h = get(client.maintenance().hash(uri(etcd.member(0))));
    assertThat(h.hash()).isBetween(0L, 0xffff_ffffL);
    // Every member hashes the store at the same revision to the same value (once it has applied it).
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      List<Long> hashes = new ArrayList<>();
      for (EtcdMember m : etcd.members()) {
        HashKVResponse r = get(client.maintenance().hashKV(uri(m), rev));
        hashes.add(r.hash());
      }
      assertThat(new HashSet<>(hashes)).hasSize(1);
    });
  }

  @Test
  void defragmentEveryMember() throws Exception {
    for (EtcdMember m : etcd.members()) {
      DefragmentResponse d = get(client.maintenance().defragment(uri(m)));
      assertThat(d.header()).isNotNull();
    }
    StatusResponse s = get(client.maintenance().status(uri(etcd.member(0))));
    assertThat(s.dbSizeInUse()).isPositive().isLessThanOrEqualTo(s.dbSize());
  }

  @Test
  void snapshotStreamsIntoAStreamAndEtcdctlAcceptsIt(@TempDir Path dir) throws Exception {
    for (int i = 0; i < 200; i++) {
      get(client.kv().put("snap/" + i, "value-" + i + "-".repeat(100)));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long n = get(client.maintenance().snapshot(out));
    assertThat(n).isPositive().isEqualTo(out.size());

    Path file = dir.resolve("snap.db");
    try (OutputStream fileOut = Files.newOutputStream(file)) {
      long m = get(client.maintenance().snapshot(fileOut));
      assertThat(Files.size(dir.resolve("snap.db"))).isEqualTo(m);
    }
    String status = new Etcdctl(etcd.endpoints()).run("snapshot", "status", file.toString(), "-w", "json");
    assertThat(status).contains("\"totalKey\"").contains("\"hash\"");
  }

  @Test
  void snapshotWriteFailureFailsTheFutureWithIt() {
    IOException boom = new IOException("disk full");
    OutputStream failing = new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        throw boom;
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        throw boom;
      }
    };
    assertThatThrownBy(() -> get(client.maintenance().snapshot(failing)))
        .isInstanceOf(ExecutionException.class).hasCause(boom);
  }

  @Test
  void moveLeaderToAFollower() throws Exception {
    Map<String, Long> ids = idsByName();
    EtcdMember leader = etcd.cluster().leader();
    EtcdMember follower = etcd.members().stream().filter(m -> m != leader).findFirst().orElseThrow();
    long followerId = ids.get(follower.name());
    get(client.maintenance().moveLeader(followerId));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(get(client.maintenance().status(uri(follower))).isLeader()).isTrue();
      assertThat(etcd.cluster().leader().name()).isEqualTo(follower.name());
    });
  }
}
