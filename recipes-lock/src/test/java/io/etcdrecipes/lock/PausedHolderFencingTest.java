package io.etcdrecipes.lock;

import static io.etcdrecipes.lock.LockTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.testkit.ChildJvm;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Fencing: the holder's JVM is paused (SIGSTOP) past the TTL — it cannot be told anything while it is stopped — and
 * resumed once the server has expired its lease and the next holder has written. Two resources, etcd keys that
 * record the token of every append in order: one written only under the lock's guard (and a compare-and-set on the
 * key), one under the compare-and-set alone; and a third that keeps the highest token and refuses lower ones, as a
 * resource outside etcd would. After the resume the old holder's guarded write and its token-checked write are
 * rejected, while its unguarded write succeeds: the unguarded resource sees tokens go down (the negative control:
 * what fencing prevents), the guarded one sees them strictly increase.
 */
class PausedHolderFencingTest {

  private static final Logger log = LoggerFactory.getLogger(PausedHolderFencingTest.class);
  private static final Duration TTL = Duration.ofSeconds(2);
  private static final String NAME = "fence/lock";
  private static final String FENCED = "fence/guarded";
  private static final String UNFENCED = "fence/unguarded";
  private static final String TOKEN_CHECKED = "fence/highest-token";

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  private final LockTestSupport t = new LockTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void aPausedHoldersGuardedWriteIsRejectedAfterTheResumeWhileItsUnguardedWriteGoesThrough() throws Exception {
    EtcdClient c = t.client();
    get(c.kv().put(ByteSequence.of(TOKEN_CHECKED), ByteSequence.of(LockHolderChild.token(0))));
    try (ChildJvm holder = ChildJvm.start(LockHolderChild.class, etcd.endpoints(), String.valueOf(TTL.toSeconds()),
        LockTestSupport.Kind.MUTEX.name(), NAME, "1")) {
      String[] holding = holder.awaitLine("HOLDING ", Timing.seconds(30)).split(" ");
      long old = Long.parseLong(holding[1]);
      ByteSequence oldKey = ByteSequence.of(holding[2]);
      send(holder, "append " + FENCED, "APPEND OK");
      send(holder, "append-unguarded " + UNFENCED, "UNGUARDED OK");
      send(holder, "fence " + TOKEN_CHECKED, "FENCE OK");

      CompletableFuture<Ownership> contender = Mutex.create(t.session(c, TTL), NAME).lockAsync();
      await().atMost(Timing.seconds(5)).until(() -> keys(c, NAME).size() == 2);
      CompletableFuture<Long> deletedAt = new CompletableFuture<>();
      try (Watcher w = c.watch().watch(oldKey, WatchOption.builder().revision(old + 1).noPut().build(), r -> {
        if (r.events().stream().anyMatch(e -> e.type() == WatchEvent.Type.DELETE)) {
          deletedAt.complete(System.nanoTime());
        }
      })) {
        get(w.created());
        long pausedAt = System.nanoTime();
        holder.pause();
        Ownership next;
        try {
          long deleted = get(deletedAt, Timing.seconds(10)); // the server expired the paused holder's lease
          next = get(contender, Timing.seconds(10));
          log.info("holder paused at 0 ms; its key deleted by the server at {} ms; the next holder (token {}, old {}) "
              + "writes", TimeUnit.NANOSECONDS.toMillis(deleted - pausedAt), next.fencingToken(), old);
          assertThat(LockHolderChild.append(c.kv(), ByteSequence.of(FENCED), next, true)).isTrue();
          assertThat(LockHolderChild.append(c.kv(), ByteSequence.of(UNFENCED), next, false)).isTrue();
          assertThat(get(c.kv().txn()
              .when(Compare.value(ByteSequence.of(TOKEN_CHECKED)).less(ByteSequence.of(LockHolderChild.token(next.fencingToken() + 1))))
              .then(Op.put(ByteSequence.of(TOKEN_CHECKED), ByteSequence.of(LockHolderChild.token(next.fencingToken()))))
              .commit()).succeeded()).isTrue();
        } finally {
          holder.resume();
        }

        // the old holder wakes up believing nothing happened; what it tries now is what fencing is for
        send(holder, "valid", "VALID false");
        send(holder, "commit fence/other x", "COMMIT REJECTED OwnershipLostException");
        send(holder, "append " + FENCED, "APPEND REJECTED");          // the guard: its key is gone on the server
        send(holder, "fence " + TOKEN_CHECKED, "FENCE REJECTED");     // the resource: a lower token than it has seen
        send(holder, "append-unguarded " + UNFENCED, "UNGUARDED OK"); // nothing stops an unfenced write

        List<Long> fenced = tokens(c, FENCED);
        List<Long> unfenced = tokens(c, UNFENCED);
        log.info("tokens seen by the guarded resource {}, by the unguarded one {}", fenced, unfenced);
        assertThat(fenced).containsExactly(old, next.fencingToken());
        assertThat(increasesStrictly(fenced)).isTrue();
        assertThat(unfenced).containsExactly(old, next.fencingToken(), old);
        assertThat(increasesStrictly(unfenced)).as("the negative control: without the guard the old token comes back")
            .isFalse();
        assertThat(get(c.kv().get(ByteSequence.of(TOKEN_CHECKED))).first().value().toStringUtf8())
            .isEqualTo(LockHolderChild.token(next.fencingToken()));
        assertThat(get(c.kv().get(ByteSequence.of("fence/other"))).isEmpty()).isTrue();
        next.close();
      }
    }
    assertThat(keys(c, NAME)).isEmpty();
    for (String k : List.of(FENCED, UNFENCED, TOKEN_CHECKED)) {
      get(c.kv().delete(ByteSequence.of(k)));
    }
  }

  /** Sends {@code command} and checks that the answer (the next line of its kind, or an error) starts as expected. */
  private static String send(ChildJvm child, String command, String expected) {
    String kind = expected.split(" ")[0] + " ";
    child.send(command);
    String answer = child.awaitLine(l -> l.startsWith(kind) || l.startsWith("ERROR"), Timing.seconds(20));
    assertThat(answer).as("the answer to '%s'", command).startsWith(expected);
    return answer;
  }

  private static List<Long> tokens(EtcdClient c, String key) {
    KeyValue kv = get(c.kv().get(ByteSequence.of(key))).first();
    return Arrays.stream(kv.value().toStringUtf8().split(",")).filter(s -> !s.isEmpty()).map(Long::parseLong).toList();
  }

  private static boolean increasesStrictly(List<Long> tokens) {
    for (int i = 1; i < tokens.size(); i++) {
      if (tokens.get(i) <= tokens.get(i - 1)) {
        return false;
      }
    }
    return true;
  }
}
