package io.etcdrecipes.proto;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.ByteString;
import io.etcdrecipes.proto.etcdserverpb.AuthGrpc;
import io.etcdrecipes.proto.etcdserverpb.AuthStatusRequest;
import io.etcdrecipes.proto.etcdserverpb.AuthStatusResponse;
import io.etcdrecipes.proto.etcdserverpb.ClusterGrpc;
import io.etcdrecipes.proto.etcdserverpb.Compare;
import io.etcdrecipes.proto.etcdserverpb.CompactionRequest;
import io.etcdrecipes.proto.etcdserverpb.CompactionResponse;
import io.etcdrecipes.proto.etcdserverpb.DeleteRangeRequest;
import io.etcdrecipes.proto.etcdserverpb.DeleteRangeResponse;
import io.etcdrecipes.proto.etcdserverpb.DowngradeRequest;
import io.etcdrecipes.proto.etcdserverpb.DowngradeResponse;
import io.etcdrecipes.proto.etcdserverpb.KVGrpc;
import io.etcdrecipes.proto.etcdserverpb.LeaseGrantRequest;
import io.etcdrecipes.proto.etcdserverpb.LeaseGrantResponse;
import io.etcdrecipes.proto.etcdserverpb.LeaseGrpc;
import io.etcdrecipes.proto.etcdserverpb.LeaseLeasesRequest;
import io.etcdrecipes.proto.etcdserverpb.LeaseLeasesResponse;
import io.etcdrecipes.proto.etcdserverpb.LeaseRevokeRequest;
import io.etcdrecipes.proto.etcdserverpb.LeaseRevokeResponse;
import io.etcdrecipes.proto.etcdserverpb.LeaseStatus;
import io.etcdrecipes.proto.etcdserverpb.LeaseTimeToLiveRequest;
import io.etcdrecipes.proto.etcdserverpb.LeaseTimeToLiveResponse;
import io.etcdrecipes.proto.etcdserverpb.MaintenanceGrpc;
import io.etcdrecipes.proto.etcdserverpb.Member;
import io.etcdrecipes.proto.etcdserverpb.MemberListRequest;
import io.etcdrecipes.proto.etcdserverpb.MemberListResponse;
import io.etcdrecipes.proto.etcdserverpb.PutRequest;
import io.etcdrecipes.proto.etcdserverpb.PutResponse;
import io.etcdrecipes.proto.etcdserverpb.RangeRequest;
import io.etcdrecipes.proto.etcdserverpb.RangeResponse;
import io.etcdrecipes.proto.etcdserverpb.RequestOp;
import io.etcdrecipes.proto.etcdserverpb.ResponseHeader;
import io.etcdrecipes.proto.etcdserverpb.ResponseOp;
import io.etcdrecipes.proto.etcdserverpb.StatusRequest;
import io.etcdrecipes.proto.etcdserverpb.StatusResponse;
import io.etcdrecipes.proto.etcdserverpb.TxnRequest;
import io.etcdrecipes.proto.etcdserverpb.TxnResponse;
import io.etcdrecipes.proto.etcdserverpb.WatchCancelRequest;
import io.etcdrecipes.proto.etcdserverpb.WatchCreateRequest;
import io.etcdrecipes.proto.etcdserverpb.WatchGrpc;
import io.etcdrecipes.proto.etcdserverpb.WatchRequest;
import io.etcdrecipes.proto.etcdserverpb.WatchResponse;
import io.etcdrecipes.proto.mvccpb.Event;
import io.etcdrecipes.proto.mvccpb.KeyValue;
import io.etcdrecipes.proto.v3electionpb.CampaignRequest;
import io.etcdrecipes.proto.v3electionpb.CampaignResponse;
import io.etcdrecipes.proto.v3electionpb.ElectionGrpc;
import io.etcdrecipes.proto.v3electionpb.LeaderKey;
import io.etcdrecipes.proto.v3electionpb.LeaderRequest;
import io.etcdrecipes.proto.v3electionpb.LeaderResponse;
import io.etcdrecipes.proto.v3electionpb.ProclaimRequest;
import io.etcdrecipes.proto.v3electionpb.ResignRequest;
import io.etcdrecipes.proto.v3electionpb.ResignResponse;
import io.etcdrecipes.proto.v3lockpb.LockGrpc;
import io.etcdrecipes.proto.v3lockpb.LockRequest;
import io.etcdrecipes.proto.v3lockpb.LockResponse;
import io.etcdrecipes.proto.v3lockpb.UnlockRequest;
import io.etcdrecipes.proto.v3lockpb.UnlockResponse;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdVersion;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Drives a real etcd through the raw generated stubs and checks the responses field by field: proves
 * that our .proto files put the same bytes on the wire, under the same method paths, as upstream's.
 */
class WireTest {

  /**
   * The expectations below are those of etcd 3.4 and 3.5 (RPCs 3.5 added are unimplemented on 3.4 and answer on 3.5;
   * fields 3.6 added are unset): the build runs this test on both (docs/test-matrix.md).
   */
  private static final List<String> KNOWN_SERVER_LINES = List.of("3.4", "3.5");
  private static final long DEADLINE_SECONDS = 10;

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).build();

  private static ManagedChannel channel;
  /** What the etcd binary the testkit runs says it is. */
  private static EtcdVersion version;
  /** Every key of this run lives under this prefix. */
  private static final String PREFIX = "/wiretest-" + UUID.randomUUID() + "/";

  @BeforeAll
  static void connect() {
    version = etcd.cluster().version();
    assertThat(version.line()).as("etcd %s: review this test's expectations for it", version).isIn(KNOWN_SERVER_LINES);
    channel = ManagedChannelBuilder.forTarget("127.0.0.1:" + etcd.cluster().member(0).clientPort())
        .usePlaintext()
        .build();
  }

  @AfterAll
  static void disconnect() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow();
      assertThat(channel.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  // A fresh stub per call: withDeadlineAfter fixes an absolute deadline at the time it is called.
  private static KVGrpc.KVBlockingStub kv() {
    return KVGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  private static LeaseGrpc.LeaseBlockingStub lease() {
    return LeaseGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  private static MaintenanceGrpc.MaintenanceBlockingStub maintenance() {
    return MaintenanceGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  private static ClusterGrpc.ClusterBlockingStub cluster() {
    return ClusterGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  private static LockGrpc.LockBlockingStub lock() {
    return LockGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  private static AuthGrpc.AuthBlockingStub auth() {
    return AuthGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  private static ElectionGrpc.ElectionBlockingStub election() {
    return ElectionGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  private static ByteString bytes(String s) {
    return ByteString.copyFromUtf8(s);
  }

  /** The same member and cluster answer every call. */
  private static void assertHeader(ResponseHeader header) {
    assertThat(header.getClusterId()).isNotZero();
    assertThat(header.getMemberId()).isNotZero();
    assertThat(header.getRaftTerm()).isPositive();
  }

  private static StatusResponse status() {
    return maintenance().status(StatusRequest.getDefaultInstance());
  }

  private static long grant(long ttlSeconds) {
    LeaseGrantResponse grant = lease().leaseGrant(LeaseGrantRequest.newBuilder().setTTL(ttlSeconds).build());
    assertThat(grant.getError()).isEmpty();
    return grant.getID();
  }

  private static RangeResponse get(ByteString key) {
    return kv().range(RangeRequest.newBuilder().setKey(key).build());
  }

  // -------------------------------------------------------------------------------------------
  // KV
  // -------------------------------------------------------------------------------------------

  @Test
  void putRangeDeleteRange() {
    ByteString a = bytes(PREFIX + "kv/a");
    ByteString b = bytes(PREFIX + "kv/b");

    PutResponse first = kv().put(PutRequest.newBuilder().setKey(a).setValue(bytes("1")).build());
    assertHeader(first.getHeader());
    long createRev = first.getHeader().getRevision();
    assertThat(createRev).isPositive();
    assertThat(first.hasPrevKv()).isFalse();

    PutResponse second = kv().put(PutRequest.newBuilder().setKey(a).setValue(bytes("2")).setPrevKv(true).build());
    long modRev = second.getHeader().getRevision();
    assertThat(modRev).isGreaterThan(createRev);
    KeyValue prev = second.getPrevKv();
    assertThat(prev.getKey()).isEqualTo(a);
    assertThat(prev.getValue().toStringUtf8()).isEqualTo("1");
    assertThat(prev.getCreateRevision()).isEqualTo(createRev);
    assertThat(prev.getModRevision()).isEqualTo(createRev);
    assertThat(prev.getVersion()).isEqualTo(1);

    kv().put(PutRequest.newBuilder().setKey(b).setValue(bytes("b")).build());

    RangeResponse one = get(a);
    assertHeader(one.getHeader());
    assertThat(one.getHeader().getRevision()).isGreaterThan(modRev);
    assertThat(one.getCount()).isEqualTo(1);
    assertThat(one.getMore()).isFalse();
    assertThat(one.getKvsList()).hasSize(1);
    KeyValue kvA = one.getKvs(0);
    assertThat(kvA.getKey()).isEqualTo(a);
    assertThat(kvA.getValue().toStringUtf8()).isEqualTo("2");
    assertThat(kvA.getCreateRevision()).isEqualTo(createRev);
    assertThat(kvA.getModRevision()).isEqualTo(modRev);
    assertThat(kvA.getVersion()).isEqualTo(2);
    assertThat(kvA.getLease()).isZero();

    // Prefix range, descending by key, limit 1: the limit cuts the result, count does not.
    ByteString prefix = bytes(PREFIX + "kv/");
    RangeResponse limited = kv().range(RangeRequest.newBuilder()
        .setKey(prefix)
        .setRangeEnd(bytes(PREFIX + "kv0")) // '/' + 1 == '0'
        .setLimit(1)
        .setSortOrder(RangeRequest.SortOrder.DESCEND)
        .setSortTarget(RangeRequest.SortTarget.KEY)
        .build());
    assertThat(limited.getCount()).isEqualTo(2);
    assertThat(limited.getMore()).isTrue();
    assertThat(limited.getKvsList()).extracting(KeyValue::getKey).containsExactly(b);

    RangeResponse keysOnly = kv().range(RangeRequest.newBuilder()
        .setKey(prefix).setRangeEnd(bytes(PREFIX + "kv0")).setKeysOnly(true).build());
    assertThat(keysOnly.getKvsList()).extracting(KeyValue::getKey).containsExactly(a, b);
    assertThat(keysOnly.getKvsList()).allSatisfy(kv -> assertThat(kv.getValue().isEmpty()).isTrue());

    RangeResponse countOnly = kv().range(RangeRequest.newBuilder()
        .setKey(prefix).setRangeEnd(bytes(PREFIX + "kv0")).setCountOnly(true).build());
    assertThat(countOnly.getCount()).isEqualTo(2);
    assertThat(countOnly.getKvsList()).isEmpty();

    DeleteRangeResponse deleted = kv().deleteRange(DeleteRangeRequest.newBuilder()
        .setKey(prefix).setRangeEnd(bytes(PREFIX + "kv0")).setPrevKv(true).build());
    assertHeader(deleted.getHeader());
    assertThat(deleted.getDeleted()).isEqualTo(2);
    assertThat(deleted.getPrevKvsList()).extracting(KeyValue::getKey).containsExactlyInAnyOrder(a, b);
    assertThat(deleted.getPrevKvsList()).extracting(kv -> kv.getValue().toStringUtf8())
        .containsExactlyInAnyOrder("2", "b");

    assertThat(get(a).getCount()).isZero();
    assertThat(get(a).getKvsList()).isEmpty();
  }

  @Test
  void txnTakesTheBranchItsComparesSelect() {
    ByteString key = bytes(PREFIX + "txn/k");
    long rev = kv().put(PutRequest.newBuilder().setKey(key).setValue(bytes("v1")).build())
        .getHeader().getRevision();

    // Holds: mod_revision == rev. Runs success: a put (with prev_kv) and a range.
    TxnResponse won = kv().txn(TxnRequest.newBuilder()
        .addCompare(Compare.newBuilder()
            .setKey(key)
            .setTarget(Compare.CompareTarget.MOD)
            .setResult(Compare.CompareResult.EQUAL)
            .setModRevision(rev))
        .addSuccess(RequestOp.newBuilder().setRequestPut(
            PutRequest.newBuilder().setKey(key).setValue(bytes("v2")).setPrevKv(true)))
        .addSuccess(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(key)))
        .addFailure(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(key)))
        .build());
    assertHeader(won.getHeader());
    assertThat(won.getSucceeded()).isTrue();
    assertThat(won.getHeader().getRevision()).isEqualTo(rev + 1);
    assertThat(won.getResponsesList()).extracting(ResponseOp::getResponseCase)
        .containsExactly(ResponseOp.ResponseCase.RESPONSE_PUT, ResponseOp.ResponseCase.RESPONSE_RANGE);
    assertThat(won.getResponses(0).getResponsePut().getPrevKv().getValue().toStringUtf8()).isEqualTo("v1");
    KeyValue seen = won.getResponses(1).getResponseRange().getKvs(0);
    assertThat(seen.getValue().toStringUtf8()).isEqualTo("v2");
    assertThat(seen.getModRevision()).isEqualTo(rev + 1);
    assertThat(seen.getVersion()).isEqualTo(2);

    // Fails: value != "v1" now (and the range_end / NOT_EQUAL / VALUE encodings are exercised).
    TxnResponse lost = kv().txn(TxnRequest.newBuilder()
        .addCompare(Compare.newBuilder()
            .setKey(key)
            .setTarget(Compare.CompareTarget.VALUE)
            .setResult(Compare.CompareResult.EQUAL)
            .setValue(bytes("v1")))
        .addCompare(Compare.newBuilder()
            .setKey(key)
            .setTarget(Compare.CompareTarget.VERSION)
            .setResult(Compare.CompareResult.NOT_EQUAL)
            .setVersion(0))
        .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(key)))
        .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(key)))
        .build());
    assertThat(lost.getSucceeded()).isFalse();
    assertThat(lost.getHeader().getRevision()).isEqualTo(rev + 1); // nothing written
    assertThat(lost.getResponsesList()).hasSize(1);
    assertThat(lost.getResponses(0).getResponseRange().getKvs(0).getValue().toStringUtf8()).isEqualTo("v2");
  }

  @Test
  void compactMakesOldRevisionsUnreadable() {
    ByteString key = bytes(PREFIX + "compact/k");
    long old = kv().put(PutRequest.newBuilder().setKey(key).setValue(bytes("old")).build())
        .getHeader().getRevision();
    long now = kv().put(PutRequest.newBuilder().setKey(key).setValue(bytes("new")).build())
        .getHeader().getRevision();

    CompactionResponse compacted = kv().compact(
        CompactionRequest.newBuilder().setRevision(now).setPhysical(true).build());
    assertHeader(compacted.getHeader());
    assertThat(compacted.getHeader().getRevision()).isGreaterThanOrEqualTo(now);

    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> kv().range(RangeRequest.newBuilder().setKey(key).setRevision(old).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.OUT_OF_RANGE);
    assertThat(e.getStatus().getDescription()).isEqualTo("etcdserver: mvcc: required revision has been compacted");

    RangeResponse atNow = kv().range(RangeRequest.newBuilder().setKey(key).setRevision(now).build());
    assertThat(atNow.getKvs(0).getValue().toStringUtf8()).isEqualTo("new");
  }

  // -------------------------------------------------------------------------------------------
  // Lease
  // -------------------------------------------------------------------------------------------

  @Test
  void leaseGrantTimeToLiveLeasesRevoke() {
    LeaseGrantResponse grant = lease().leaseGrant(LeaseGrantRequest.newBuilder().setTTL(60).build());
    assertHeader(grant.getHeader());
    assertThat(grant.getError()).isEmpty();
    assertThat(grant.getTTL()).isEqualTo(60);
    long id = grant.getID();
    assertThat(id).isPositive();

    ByteString key = bytes(PREFIX + "lease/k");
    kv().put(PutRequest.newBuilder().setKey(key).setValue(bytes("v")).setLease(id).build());
    assertThat(get(key).getKvs(0).getLease()).isEqualTo(id);

    LeaseTimeToLiveResponse ttl = lease().leaseTimeToLive(
        LeaseTimeToLiveRequest.newBuilder().setID(id).setKeys(true).build());
    assertHeader(ttl.getHeader());
    assertThat(ttl.getID()).isEqualTo(id);
    assertThat(ttl.getGrantedTTL()).isEqualTo(60);
    assertThat(ttl.getTTL()).isBetween(1L, 60L);
    assertThat(ttl.getKeysList()).containsExactly(key);

    LeaseTimeToLiveResponse noKeys = lease().leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(id).build());
    assertThat(noKeys.getKeysList()).isEmpty();

    LeaseLeasesResponse leases = lease().leaseLeases(LeaseLeasesRequest.getDefaultInstance());
    assertHeader(leases.getHeader());
    assertThat(leases.getLeasesList()).extracting(LeaseStatus::getID).contains(id);

    LeaseRevokeResponse revoked = lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(id).build());
    assertHeader(revoked.getHeader());
    assertThat(get(key).getKvsList()).as("keys of a revoked lease are deleted").isEmpty();
    assertThat(lease().leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(id).build()).getTTL())
        .as("TTL of a lease that does not exist").isEqualTo(-1);
    assertThat(lease().leaseLeases(LeaseLeasesRequest.getDefaultInstance()).getLeasesList())
        .extracting(LeaseStatus::getID).doesNotContain(id);

    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(id).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(e.getStatus().getDescription()).isEqualTo("etcdserver: requested lease not found");
  }

  // -------------------------------------------------------------------------------------------
  // Watch
  // -------------------------------------------------------------------------------------------

  @Test
  void watchCreateAndPutEvent() throws InterruptedException {
    ByteString key = bytes(PREFIX + "watch/k");
    long firstRev = kv().put(PutRequest.newBuilder().setKey(key).setValue(bytes("before")).build())
        .getHeader().getRevision();

    BlockingQueue<WatchResponse> responses = new LinkedBlockingQueue<>();
    BlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
    StreamObserver<WatchRequest> requests = WatchGrpc.newStub(channel)
        .withDeadlineAfter(30, TimeUnit.SECONDS)
        .watch(new StreamObserver<>() {
          @Override public void onNext(WatchResponse r) { responses.add(r); }
          @Override public void onError(Throwable t) { errors.add(t); }
          @Override public void onCompleted() { }
        });
    try {
      long watchId = 7; // client-chosen id (WatchCreateRequest.watch_id, since 3.4)
      requests.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
          .setKey(key).setPrevKv(true).setWatchId(watchId)).build());

      WatchResponse created = next(responses, errors);
      assertHeader(created.getHeader());
      assertThat(created.getCreated()).isTrue();
      assertThat(created.getWatchId()).isEqualTo(watchId);
      assertThat(created.getCanceled()).isFalse();
      assertThat(created.getEventsList()).isEmpty();

      PutResponse put = kv().put(PutRequest.newBuilder().setKey(key).setValue(bytes("after")).build());
      long putRev = put.getHeader().getRevision();

      WatchResponse events = next(responses, errors);
      assertThat(events.getWatchId()).isEqualTo(watchId);
      assertThat(events.getCreated()).isFalse();
      assertThat(events.getHeader().getRevision()).isEqualTo(putRev);
      assertThat(events.getEventsList()).hasSize(1);
      Event event = events.getEvents(0);
      assertThat(event.getType()).isEqualTo(Event.EventType.PUT);
      assertThat(event.getKv().getKey()).isEqualTo(key);
      assertThat(event.getKv().getValue().toStringUtf8()).isEqualTo("after");
      assertThat(event.getKv().getCreateRevision()).isEqualTo(firstRev);
      assertThat(event.getKv().getModRevision()).isEqualTo(putRev);
      assertThat(event.getKv().getVersion()).isEqualTo(2);
      assertThat(event.hasPrevKv()).isTrue();
      assertThat(event.getPrevKv().getValue().toStringUtf8()).isEqualTo("before");
      assertThat(event.getPrevKv().getModRevision()).isEqualTo(firstRev);

      requests.onNext(WatchRequest.newBuilder()
          .setCancelRequest(WatchCancelRequest.newBuilder().setWatchId(watchId)).build());
      WatchResponse canceled = next(responses, errors);
      assertThat(canceled.getCanceled()).isTrue();
      assertThat(canceled.getWatchId()).isEqualTo(watchId);
    } finally {
      requests.onCompleted();
    }
  }

  private static WatchResponse next(BlockingQueue<WatchResponse> responses, BlockingQueue<Throwable> errors)
      throws InterruptedException {
    WatchResponse r = responses.poll(DEADLINE_SECONDS, TimeUnit.SECONDS);
    assertThat(errors).as("watch stream errors").isEmpty();
    assertThat(r).as("a watch response within %ss", DEADLINE_SECONDS).isNotNull();
    return r;
  }

  // -------------------------------------------------------------------------------------------
  // Cluster and Maintenance
  // -------------------------------------------------------------------------------------------

  @Test
  void memberListShowsTheOneMember() {
    MemberListResponse list = cluster().memberList(MemberListRequest.getDefaultInstance());
    assertHeader(list.getHeader());
    assertThat(list.getMembersList()).hasSize(1);
    Member m = list.getMembers(0);
    assertThat(m.getID()).isEqualTo(list.getHeader().getMemberId());
    assertThat(m.getName()).isEqualTo(etcd.cluster().member(0).name());
    assertThat(m.getIsLearner()).isFalse();
    assertThat(m.getClientURLsList()).containsExactlyElementsOf(etcd.cluster().clientEndpoints());
    assertThat(m.getPeerURLsList()).containsExactly(etcd.cluster().member(0).peerEndpoint());
    assertThat(m.getPeerURLs(0)).startsWith("http://127.0.0.1:").isNotIn(m.getClientURLsList());
  }

  @Test
  void statusOfTheOneMember() {
    StatusResponse s = status();
    assertHeader(s.getHeader());
    assertThat(s.getVersion()).isEqualTo(version.toString());
    assertThat(s.getLeader()).isEqualTo(s.getHeader().getMemberId());
    assertThat(s.getRaftIndex()).isPositive();
    assertThat(s.getRaftTerm()).isPositive().isEqualTo(s.getHeader().getRaftTerm());
    assertThat(s.getRaftAppliedIndex()).isPositive();
    assertThat(s.getDbSize()).isPositive();
    assertThat(s.getDbSizeInUse()).isPositive().isLessThanOrEqualTo(s.getDbSize());
    assertThat(s.getErrorsList()).isEmpty();
    assertThat(s.getIsLearner()).isFalse();
    // Fields etcd 3.6 added: 3.4 and 3.5 servers leave them unset.
    assertThat(s.getStorageVersion()).isEmpty();
    assertThat(s.getDbSizeQuota()).isZero();
    assertThat(s.hasDowngradeInfo()).isFalse();
  }

  /** RPCs etcd 3.5 added (Maintenance.Downgrade, Auth.AuthStatus): 3.4 does not know them, 3.5 answers. */
  @Test
  void rpcsAddedInEtcd35() {
    if (version.isAtLeast(3, 5)) {
      rpcsAddedInEtcd35Answer();
    } else {
      rpcsAddedInEtcd35AreUnimplemented();
    }
  }

  private static void rpcsAddedInEtcd35AreUnimplemented() {
    StatusRuntimeException downgrade = catchThrowableOfType(StatusRuntimeException.class,
        () -> maintenance().downgrade(DowngradeRequest.newBuilder()
            .setAction(DowngradeRequest.DowngradeAction.VALIDATE).setVersion("3.3").build()));
    assertThat(downgrade.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
    // The server knows the service (so its name is encoded as 3.4 expects), not the method.
    assertThat(downgrade.getStatus().getDescription())
        .isEqualTo("unknown method Downgrade for service etcdserverpb.Maintenance");

    StatusRuntimeException authStatus = catchThrowableOfType(StatusRuntimeException.class,
        () -> auth().authStatus(AuthStatusRequest.getDefaultInstance()));
    assertThat(authStatus.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
    assertThat(authStatus.getStatus().getDescription())
        .isEqualTo("unknown method AuthStatus for service etcdserverpb.Auth");
  }

  private static void rpcsAddedInEtcd35Answer() {
    // VALIDATE only checks a downgrade: to the previous minor version it is allowed, and the answer carries the
    // cluster version (major.minor.0); nothing changes.
    String previousMinor = version.major() + "." + (version.minor() - 1);
    DowngradeResponse validated = maintenance().downgrade(DowngradeRequest.newBuilder()
        .setAction(DowngradeRequest.DowngradeAction.VALIDATE).setVersion(previousMinor).build());
    assertHeader(validated.getHeader());
    assertThat(validated.getVersion()).isEqualTo(version.line() + ".0");
    // Two minor versions down is not a downgrade etcd does.
    StatusRuntimeException tooFar = catchThrowableOfType(StatusRuntimeException.class,
        () -> maintenance().downgrade(DowngradeRequest.newBuilder()
            .setAction(DowngradeRequest.DowngradeAction.VALIDATE)
            .setVersion(version.major() + "." + (version.minor() - 2)).build()));
    assertThat(tooFar.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(tooFar.getStatus().getDescription()).isEqualTo("etcdserver: invalid downgrade target version");
    assertThat(status().hasDowngradeInfo()).as("VALIDATE starts no downgrade").isFalse();

    AuthStatusResponse authStatus = auth().authStatus(AuthStatusRequest.getDefaultInstance());
    assertHeader(authStatus.getHeader());
    assertThat(authStatus.getEnabled()).as("auth is off in this cluster").isFalse();
    assertThat(authStatus.getAuthRevision()).isPositive();
  }

  // -------------------------------------------------------------------------------------------
  // v3lock and v3election
  // -------------------------------------------------------------------------------------------

  @Test
  void lockAndUnlock() {
    String name = PREFIX + "lock";
    long leaseId = grant(60);
    long contender = grant(60);
    try {
      LockResponse locked = lock().lock(LockRequest.newBuilder().setName(bytes(name)).setLease(leaseId).build());
      assertHeader(locked.getHeader());
      ByteString key = locked.getKey();
      // Same layout as Go's concurrency.Mutex: name + "/" + lease id in lowercase hex.
      assertThat(key.toStringUtf8()).startsWith(name + "/").isEqualTo(name + "/" + Long.toHexString(leaseId));

      RangeResponse held = get(key);
      assertThat(held.getKvsList()).as("the ownership key exists while the lock is held").hasSize(1);
      assertThat(held.getKvs(0).getLease()).isEqualTo(leaseId);
      assertThat(held.getKvs(0).getCreateRevision()).isEqualTo(locked.getHeader().getRevision());

      // Somebody else waits for it (until their deadline).
      StatusRuntimeException blocked = catchThrowableOfType(StatusRuntimeException.class,
          () -> LockGrpc.newBlockingStub(channel).withDeadlineAfter(500, TimeUnit.MILLISECONDS)
              .lock(LockRequest.newBuilder().setName(bytes(name)).setLease(contender).build()));
      // the same deadline runs out on both sides: ours (DEADLINE_EXCEEDED) or the server's context, whose Go
      // error etcd 3.4 and 3.5 return as is (UNKNOWN "context deadline exceeded"), whichever fires first
      if (blocked.getStatus().getCode() != Status.Code.DEADLINE_EXCEEDED) {
        assertThat(blocked.getStatus().getCode()).isEqualTo(Status.Code.UNKNOWN);
        assertThat(blocked.getStatus().getDescription()).contains("deadline exceeded");
      }

      UnlockResponse unlocked = lock().unlock(UnlockRequest.newBuilder().setKey(key).build());
      assertHeader(unlocked.getHeader());
      assertThat(unlocked.getHeader().getRevision()).isGreaterThan(locked.getHeader().getRevision());
      assertThat(get(key).getKvsList()).as("the ownership key is gone after Unlock").isEmpty();
    } finally {
      lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(leaseId).build());
      lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(contender).build());
    }
  }

  @Test
  void campaignLeaderProclaimResign() {
    ByteString name = bytes(PREFIX + "election");
    long leaseId = grant(60);
    try {
      CampaignResponse won = election().campaign(CampaignRequest.newBuilder()
          .setName(name).setLease(leaseId).setValue(bytes("proposal-1")).build());
      assertHeader(won.getHeader());
      LeaderKey leader = won.getLeader();
      assertThat(leader.getName()).isEqualTo(name);
      assertThat(leader.getKey().toStringUtf8())
          .isEqualTo(name.toStringUtf8() + "/" + Long.toHexString(leaseId));
      assertThat(leader.getRev()).isPositive();
      assertThat(leader.getLease()).isEqualTo(leaseId);

      LeaderResponse current = election().leader(LeaderRequest.newBuilder().setName(name).build());
      assertHeader(current.getHeader());
      assertThat(current.getKv().getKey()).isEqualTo(leader.getKey());
      assertThat(current.getKv().getValue().toStringUtf8()).isEqualTo("proposal-1");
      assertThat(current.getKv().getCreateRevision()).isEqualTo(leader.getRev());
      assertThat(current.getKv().getLease()).isEqualTo(leaseId);

      election().proclaim(ProclaimRequest.newBuilder().setLeader(leader).setValue(bytes("proposal-2")).build());
      assertThat(election().leader(LeaderRequest.newBuilder().setName(name).build()).getKv().getValue()
          .toString(UTF_8)).isEqualTo("proposal-2");

      ResignResponse resigned = election().resign(ResignRequest.newBuilder().setLeader(leader).build());
      assertHeader(resigned.getHeader());
      assertThat(get(leader.getKey()).getKvsList()).isEmpty();

      StatusRuntimeException none = catchThrowableOfType(StatusRuntimeException.class,
          () -> election().leader(LeaderRequest.newBuilder().setName(name).build()));
      // etcd 3.4 and 3.5 return the Go error as is, so gRPC reports it as UNKNOWN with the Go message.
      assertThat(none.getStatus().getCode()).isEqualTo(Status.Code.UNKNOWN);
      assertThat(none.getStatus().getDescription()).isEqualTo("election: no leader");
    } finally {
      lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(leaseId).build());
    }
  }
}
