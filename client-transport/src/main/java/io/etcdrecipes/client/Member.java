package io.etcdrecipes.client;

import java.net.URI;
import java.util.List;

/**
 * One member of the cluster. {@code name} and {@code clientUrls} are empty for a member that was added but
 * has not started yet. IDs are unsigned 64-bit numbers in etcd; print them with
 * {@link Long#toHexString(long)}, as etcdctl does.
 */
public record Member(long id, String name, List<URI> peerUrls, List<URI> clientUrls, boolean learner) {

  public Member {
    peerUrls = List.copyOf(peerUrls);
    clientUrls = List.copyOf(clientUrls);
  }
}
