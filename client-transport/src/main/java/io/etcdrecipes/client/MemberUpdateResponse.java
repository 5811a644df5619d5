package io.etcdrecipes.client;

import java.util.List;

/** The answer to {@link Cluster#memberUpdate}: every member afterwards. */
public record MemberUpdateResponse(ResponseHeader header, List<Member> members) {

  public MemberUpdateResponse {
    members = List.copyOf(members);
  }
}
