package io.etcdrecipes.client;

import java.util.List;

/** The answer to {@link Cluster#memberRemove}: every member afterwards. */
public record MemberRemoveResponse(ResponseHeader header, List<Member> members) {

  public MemberRemoveResponse {
    members = List.copyOf(members);
  }
}
