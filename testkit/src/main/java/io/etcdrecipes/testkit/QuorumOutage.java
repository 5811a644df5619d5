package io.etcdrecipes.testkit;

import java.time.Duration;

/**
 * A lost quorum for a fault test: the etcd leader is SIGKILLed and a second member SIGSTOPped, so the one member left
 * has no leader and every call that needs one fails after its deadline. {@link #heal(Duration)} resumes the paused
 * member, starts the killed one and waits for a healthy cluster; {@link #close()} heals if that was not done (use it
 * in try-with-resources, so that a failing test leaves no member down or paused). Needs at least 3 members.
 */
public final class QuorumOutage implements AutoCloseable {

    private final EtcdCluster cluster;
    private final EtcdMember killed;
    private final EtcdMember paused;
    private boolean healed; // guarded by this

    private QuorumOutage(EtcdCluster cluster, EtcdMember killed, EtcdMember paused) {
        this.cluster = cluster;
        this.killed = killed;
        this.paused = paused;
    }

    /** Kills the leader and pauses another member. */
    public static QuorumOutage start(EtcdCluster cluster) {
        if (cluster.members().size() < 3) {
            throw new IllegalArgumentException("a lost quorum needs at least 3 members, got " + cluster.members().size());
        }
        EtcdMember leader = cluster.leader();
        EtcdMember other = cluster.members().stream().filter(m -> m != leader).findFirst().orElseThrow();
        leader.kill();
        try {
            other.pause();
        } catch (RuntimeException e) {
            leader.startNoWait();
            throw e;
        }
        return new QuorumOutage(cluster, leader, other);
    }

    /** The member that was the leader (killed). */
    public EtcdMember killed() {
        return killed;
    }

    /** Resumes the paused member, starts the killed one and waits at most {@code timeout} for a healthy cluster. */
    public synchronized void heal(Duration timeout) {
        if (healed) {
            return;
        }
        healed = true;
        if (paused.isPaused()) {
            paused.resume();
        }
        killed.startNoWait();
        cluster.awaitHealthy(timeout);
    }

    /** Heals, if not done yet (waiting at most 20 s, scaled). */
    @Override
    public void close() {
        heal(Timing.seconds(20));
    }
}
