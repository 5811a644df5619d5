package io.etcdrecipes.client;

import java.util.List;

/** The answer to {@link Cluster#memberPromote}: every member afterwards. */
public record MemberPromoteResponse(ResponseHeader header, List<Member> members) {

  public MemberPromoteResponse {
    members = List.copyOf(members);
  }
}
