package io.etcdrecipes.client;

import java.util.List;

/** The names of all roles. */
public record RoleListResponse(ResponseHeader header, List<String> roles) {

  public RoleListResponse {
    roles = List.copyOf(roles);
  }
}
