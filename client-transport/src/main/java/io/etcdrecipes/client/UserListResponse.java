package io.etcdrecipes.client;

import java.util.List;

/** The names of all users. */
public record UserListResponse(ResponseHeader header, List<String> users) {

  public UserListResponse {
    users = List.copyOf(users);
  }
}
