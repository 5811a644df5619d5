package io.etcdrecipes.recipes;

import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.testkit.ChildJvm;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.TcpProxy;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * (b) A process that holds a session is paused (SIGSTOP) past the TTL, with renewal answers on their way to it
 * (answers are held 200 ms by the proxy; TTL 2 s), until the server has expired the lease and a direct watcher saw its key
 * deleted; then resumed. Twenty times: after the resume it never finds the session usable, and never announces
 * {@code RECONNECTED} or {@code CONNECTED}, after the delete.
 */
class SessionPauseTest {

  private static final Logger log = LoggerFactory.getLogger(SessionPauseTest.class);
  private static final int ROUNDS = 20;

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(1).fastElections().unsafeNoFsync(true).build();

  @Test
  void aPausedHolderNeverReportsAUsableSessionAfterTheServerDeletedItsKey() throws Exception {
    EtcdMember m = etcd.member(0);
    m.proxy().latency(TcpProxy.Direction.TO_CLIENT, Duration.ofMillis(200));
    try (EtcdClient direct = EtcdClient.builder().endpoints(m.clientEndpoint()).callTimeout(Timing.seconds(5)).build();
         ChildJvm child = ChildJvm.start(SessionHolderChild.class, m.proxiedEndpoint(), "2")) {
      child.awaitLine("READY", Timing.seconds(30));
      for (int round = 0; round < ROUNDS; round++) {
        String key = "pause/" + round;
        child.send("open " + key);
        String[] opened = child.awaitLine("OPENED ", Timing.seconds(20)).split(" ");
        long rev = Long.parseLong(opened[2]);
        child.send("state");
        assertThat(child.awaitLine("STATE-NOW ", Timing.seconds(10))).as("round %d: before the pause", round)
            .isIn("STATE-NOW CONNECTED", "STATE-NOW RECONNECTED");
        CompletableFuture<Long> deleted = new CompletableFuture<>();
        try (Watcher w = direct.watch().watch(ByteSequence.of(key), WatchOption.builder().revision(rev + 1).noPut().build(),
            r -> {
              if (r.events().stream().anyMatch(e -> e.type() == WatchEvent.Type.DELETE)) {
                deleted.complete(System.nanoTime());
              }
            })) {
          get(w.created());
          long pausedAt = System.nanoTime();
          child.pause();
          long deletedAt;
          try {
            deletedAt = get(deleted, Timing.seconds(10)); // the server expired the lease: the child missed its TTL
          } finally {
            child.resume();
          }
          String lost = child.awaitLine("STATE LOST", Timing.seconds(10));
          child.send("report");
          long lastUsable = Long.parseLong(child.awaitLine("LASTUSABLE ", Timing.seconds(10)).split(" ")[1]);
          List<String> lateAnnouncements = new ArrayList<>();
          for (String line : child.lines()) {
            String[] p = line.split(" ");
            if (p[0].equals("STATE") && (p[1].equals("RECONNECTED") || p[1].equals("CONNECTED"))
                && Long.parseLong(p[2]) > pausedAt) {
              lateAnnouncements.add(line);
            }
          }
          log.info("round {}: paused {} ms until the delete was seen; LOST heard {} ms after it; last usable {} ms before it",
              round, TimeUnit.NANOSECONDS.toMillis(deletedAt - pausedAt),
              TimeUnit.NANOSECONDS.toMillis(Long.parseLong(lost.split(" ")[2]) - deletedAt),
              TimeUnit.NANOSECONDS.toMillis(deletedAt - lastUsable));
          assertThat(lastUsable).as("round %d: last isUsable()=true asked before the delete", round).isLessThan(deletedAt);
          assertThat(lateAnnouncements).as("round %d: no RECONNECTED after the pause", round).isEmpty();
          child.send("close");
          child.awaitLine("CLOSED", Timing.seconds(10));
        }
      }
    } finally {
      m.proxy().heal();
    }
  }
}
