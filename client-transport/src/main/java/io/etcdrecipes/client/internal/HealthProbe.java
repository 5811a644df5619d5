package io.etcdrecipes.client.internal;

import io.etcdrecipes.proto.etcdserverpb.MaintenanceGrpc;
import io.etcdrecipes.proto.etcdserverpb.StatusRequest;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Asks every member for its status once a second (a cheap call that needs no raft round) and passes
 * over the members that do not answer within {@link #PROBE_TIMEOUT}. A frozen member keeps its TCP
 * connection "ready", so without this the first calls sent to it after it froze would each sit until
 * their deadline; with it, a member frozen for a second is avoided, and one that answers again is used
 * again. A member that answers but has no leader (cut off from its peers) is passed over too: it would
 * answer serializable reads and watch progress from stale state, and hold everything else until a
 * deadline. Only with more than one endpoint: with one there is nowhere else to go.
 */
public final class HealthProbe implements AutoCloseable {

  static final Duration PROBE_TIMEOUT = Duration.ofMillis(500);

  private final Caller caller;
  private final ScheduledFuture<?> task;

  public HealthProbe(Caller caller) {
    this.caller = caller;
    this.task = caller.connection().scheduler().scheduleWithFixedDelay(this::probe, 1, 1, TimeUnit.SECONDS);
  }

  private void probe() {
    try {
      probeAll();
    } catch (Throwable t) { // a scheduled task that throws is never run again
      org.slf4j.LoggerFactory.getLogger(HealthProbe.class).error("health probe failed; continuing", t);
    }
  }

  private void probeAll() {
    Connection c = caller.connection();
    if (c.isClosed() || c.channels().size() < 2) {
      return;
    }
    for (Connection.EndpointChannel ep : c.channels()) {
      caller.call(MaintenanceGrpc.getStatusMethod(), StatusRequest.getDefaultInstance(), Caller.Retry.NEVER,
          PROBE_TIMEOUT, ep).whenComplete((r, e) -> {
            if (e == null) {
              ep.leaderless(r.getLeader() == 0);
              if (r.getLeader() != 0) {
                ep.healthy();
              }
            } else {
              c.suspect(ep);
            }
          });
    }
  }

  @Override
  public void close() {
    task.cancel(false);
  }
}
