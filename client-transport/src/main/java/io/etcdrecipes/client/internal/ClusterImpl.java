package io.etcdrecipes.client.internal;

import io.etcdrecipes.client.Cluster;
import io.etcdrecipes.client.Member;
import io.etcdrecipes.client.MemberAddResponse;
import io.etcdrecipes.client.MemberListResponse;
import io.etcdrecipes.client.MemberPromoteResponse;
import io.etcdrecipes.client.MemberRemoveResponse;
import io.etcdrecipes.client.MemberUpdateResponse;
import io.etcdrecipes.proto.etcdserverpb.ClusterGrpc;
import io.etcdrecipes.proto.etcdserverpb.MemberAddRequest;
import io.etcdrecipes.proto.etcdserverpb.MemberListRequest;
import io.etcdrecipes.proto.etcdserverpb.MemberPromoteRequest;
import io.etcdrecipes.proto.etcdserverpb.MemberRemoveRequest;
import io.etcdrecipes.proto.etcdserverpb.MemberUpdateRequest;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** The Cluster service. Membership changes are NON_REPEATABLE, the member list REPEATABLE. */
public final class ClusterImpl implements Cluster {

  private final Caller caller;
  private final Duration timeout;

  public ClusterImpl(Caller caller, Duration timeout) {
    this.caller = caller;
    this.timeout = timeout;
  }

  @Override
  public CompletableFuture<MemberListResponse> memberList() {
    return caller.call(ClusterGrpc.getMemberListMethod(), MemberListRequest.getDefaultInstance(),
            Caller.Retry.REPEATABLE, timeout)
        .thenApply(r -> new MemberListResponse(KvProtos.header(r.getHeader()), members(r.getMembersList())));
  }

  @Override
  public CompletableFuture<MemberAddResponse> memberAdd(List<String> peerUrls) {
    return add(peerUrls, false);
  }

  @Override
  public CompletableFuture<MemberAddResponse> memberAddAsLearner(List<String> peerUrls) {
    return add(peerUrls, true);
  }

  private CompletableFuture<MemberAddResponse> add(List<String> peerUrls, boolean learner) {
    String bad = checkUrls(peerUrls);
    if (bad != null) {
      return CompletableFuture.failedFuture(new IllegalArgumentException(bad + "; nothing was sent"));
    }
    return caller.call(ClusterGrpc.getMemberAddMethod(),
            MemberAddRequest.newBuilder().addAllPeerURLs(peerUrls).setIsLearner(learner).build(),
            Caller.Retry.NON_REPEATABLE, timeout)
        .thenApply(r -> new MemberAddResponse(KvProtos.header(r.getHeader()), member(r.getMember()),
            members(r.getMembersList())));
  }

  @Override
  public CompletableFuture<MemberRemoveResponse> memberRemove(long memberId) {
    return caller.call(ClusterGrpc.getMemberRemoveMethod(), MemberRemoveRequest.newBuilder().setID(memberId).build(),
            Caller.Retry.NON_REPEATABLE, timeout)
        .thenApply(r -> new MemberRemoveResponse(KvProtos.header(r.getHeader()), members(r.getMembersList())));
  }

  @Override
  public CompletableFuture<MemberUpdateResponse> memberUpdate(long memberId, List<String> peerUrls) {
    String bad = checkUrls(peerUrls);
    if (bad != null) {
      return CompletableFuture.failedFuture(new IllegalArgumentException(bad + "; nothing was sent"));
    }
    return caller.call(ClusterGrpc.getMemberUpdateMethod(),
            MemberUpdateRequest.newBuilder().setID(memberId).addAllPeerURLs(peerUrls).build(),
            Caller.Retry.NON_REPEATABLE, timeout)
        .thenApply(r -> new MemberUpdateResponse(KvProtos.header(r.getHeader()), members(r.getMembersList())));
  }

  @Override
  public CompletableFuture<MemberPromoteResponse> memberPromote(long memberId) {
    return caller.call(ClusterGrpc.getMemberPromoteMethod(), MemberPromoteRequest.newBuilder().setID(memberId).build(),
            Caller.Retry.NON_REPEATABLE, timeout)
        .thenApply(r -> new MemberPromoteResponse(KvProtos.header(r.getHeader()), members(r.getMembersList())));
  }

  @Override
  public Cluster withTimeout(Duration timeout) {
    return new ClusterImpl(caller, KvImpl.positive(timeout));
  }

  /** What is wrong with these peer URLs, or {@code null} (Go checks them with types.NewURLs before sending). */
  static String checkUrls(List<String> urls) {
    if (urls == null || urls.isEmpty()) {
      return "at least one peer URL is needed";
    }
    for (String u : urls) {
      if (u == null) {
        return "a peer URL is null";
      }
      try {
        URI uri = new URI(u);
        if (uri.getScheme() == null || uri.getHost() == null || uri.getPort() < 0) {
          return "bad peer URL \"" + u + "\": want scheme://host:port";
        }
      } catch (URISyntaxException e) {
        return "bad peer URL \"" + u + "\": " + e.getMessage();
      }
    }
    return null;
  }

  static List<Member> members(List<io.etcdrecipes.proto.etcdserverpb.Member> ms) {
    List<Member> out = new ArrayList<>(ms.size());
    for (io.etcdrecipes.proto.etcdserverpb.Member m : ms) {
      out.add(member(m));
    }
    return out;
  }

  static Member member(io.etcdrecipes.proto.etcdserverpb.Member m) {
    return new Member(m.getID(), m.getName(), uris(m.getPeerURLsList()), uris(m.getClientURLsList()),
        m.getIsLearner());
  }

  /** The server checked these URLs when they were added, so they parse. */
  private static List<URI> uris(List<String> urls) {
    List<URI> out = new ArrayList<>(urls.size());
    for (String u : urls) {
      out.add(URI.create(u));
    }
    return out;
  }
}
