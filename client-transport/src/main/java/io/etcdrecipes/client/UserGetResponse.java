package io.etcdrecipes.client;

import java.util.List;

/** The roles granted to a user. */
public record UserGetResponse(ResponseHeader header, List<String> roles) {

  public UserGetResponse {
    roles = List.copyOf(roles);
  }
}
