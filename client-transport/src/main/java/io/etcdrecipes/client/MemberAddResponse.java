package io.etcdrecipes.client;

import java.util.List;

/** The member just added (with the ID the cluster gave it) and every member afterwards. */
public record MemberAddResponse(ResponseHeader header, Member member, List<Member> members) {

  public MemberAddResponse {
    members = List.copyOf(members);
  }
}
