package io.etcdrecipes.client;

import java.util.List;

/**
 * The status of one member. {@code header().memberId()} is the member that answered; it is the leader when
 * it equals {@code leader} (0 when it knows of no leader). {@code dbSize} is the size of the backend file,
 * {@code dbSizeInUse} the part of it holding live data (the rest is reclaimed by defragmentation).
 * {@code errors} lists alarms and other health problems the member reports.
 */
public record StatusResponse(ResponseHeader header, String version, long dbSize, long dbSizeInUse, long leader,
                             long raftIndex, long raftTerm, long raftAppliedIndex, List<String> errors,
                             boolean isLearner) {

  public StatusResponse {
    errors = List.copyOf(errors);
  }

  /** True when the answering member believes itself to be the leader. */
  public boolean isLeader() {
    return leader != 0 && leader == header.memberId();
  }
}
