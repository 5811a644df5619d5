package io.etcdrecipes.client;

import java.util.List;

/** The permissions granted to a role. */
public record RoleGetResponse(ResponseHeader header, List<Permission> permissions) {

  public RoleGetResponse {
    permissions = List.copyOf(permissions);
  }
}
