package io.etcdrecipes.testkit;

import java.util.concurrent.CountDownLatch;

/**
 * Run in a child JVM by {@link CleanupTest}: starts a one-member cluster, prints {@code READY <etcdPid> <clusterDir>}
 * and blocks until the test SIGKILLs this JVM.
 */
public final class OrphanChild {
    private OrphanChild() {}

    public static void main(String[] args) throws InterruptedException {
        EtcdCluster cluster = EtcdCluster.builder().proxies(false).unsafeNoFsync(true).start();
        System.out.println("READY " + cluster.member(0).pid() + " " + cluster.directory());
        System.out.flush();
        new CountDownLatch(1).await(); // until killed
    }
}
