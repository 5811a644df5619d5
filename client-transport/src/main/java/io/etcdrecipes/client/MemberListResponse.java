package io.etcdrecipes.client;

import java.util.List;

/** The members of the cluster. */
public record MemberListResponse(ResponseHeader header, List<Member> members) {

  public MemberListResponse {
    members = List.copyOf(members);
  }
}
