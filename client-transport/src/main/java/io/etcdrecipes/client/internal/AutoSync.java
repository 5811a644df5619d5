package io.etcdrecipes.client.internal;

import io.etcdrecipes.proto.etcdserverpb.ClusterGrpc;
import io.etcdrecipes.proto.etcdserverpb.Member;
import io.etcdrecipes.proto.etcdserverpb.MemberListRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Refreshes the client's endpoints from the member list at an interval (Go: AutoSyncInterval), so a
 * client seeded with one member learns the others and follows membership changes. A failed refresh keeps
 * the current list.
 */
public final class AutoSync implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(AutoSync.class);

  private final Caller caller;
  private final ScheduledFuture<?> task;

  public AutoSync(Caller caller, Duration interval) {
    this.caller = caller;
    this.task = caller.connection().scheduler().scheduleWithFixedDelay(this::sync, 0, interval.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  private void sync() {
    Connection c = caller.connection();
    if (c.isClosed()) {
      return;
    }
    caller.call(ClusterGrpc.getMemberListMethod(), MemberListRequest.getDefaultInstance(), Caller.Retry.REPEATABLE,
            c.config().callTimeout())
        .whenComplete((r, e) -> {
          if (e != null) {
            log.debug("endpoint auto-sync failed; keeping {}", c.channels(), e);
            return;
          }
          List<URI> uris = new ArrayList<>();
          for (Member m : r.getMembersList()) {
            for (String u : m.getClientURLsList()) {
              try {
                URI uri = Endpoints.parseOne(u);
                if (!uris.contains(uri)) {
                  uris.add(uri);
                }
              } catch (IllegalArgumentException bad) {
                log.warn("member {} advertises a bad client URL {}", Long.toHexString(m.getID()), u);
              }
            }
          }
          if (!uris.isEmpty()) {
            c.updateEndpoints(uris);
          }
        });
  }

  @Override
  public void close() {
    task.cancel(false);
  }
}
