package io.etcdrecipes.lock;

import static io.etcdrecipes.lock.LockTestSupport.keys;
import static io.etcdrecipes.lock.LockTestSupport.keysOnLease;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.DeadlineExceededException;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.TcpProxy;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * A failed attempt leaves no key: timed out, interrupted or cancelled while it waits, for every kind of lock; and an
 * attempt whose creating request reached the server but whose answer never came back (the client reaches the cluster
 * through one member's proxy, blackholed towards the client just before the attempt). That key exists on the server
 * — the test sees it — and nobody ever told the client so: the library must delete it by name, retrying in the
 * background while the session lives. The session's TTL is long (10 s) and the session is checked to be alive
 * afterwards, so the key was not removed by its lease expiring; and the same session locks again afterwards (a
 * local turn left behind would hang it).
 */
class FailedAttemptCleanupTest {

  private static final Logger log = LoggerFactory.getLogger(FailedAttemptCleanupTest.class);
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(1);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).unsafeNoFsync(true).build();

  private final LockTestSupport t = new LockTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    etcd.cluster().healAll();
    t.close();
  }

  /** A holder that makes an attempt of {@code kind} wait: a writer for a reader, a reader for a writer. */
  private static LockTestSupport.Kind blocker(LockTestSupport.Kind kind) {
    return switch (kind) {
      case READ -> LockTestSupport.Kind.WRITE;
      case WRITE -> LockTestSupport.Kind.READ;
      default -> kind;
    };
  }

  @ParameterizedTest
  @EnumSource(LockTestSupport.Kind.class)
  void timedOutInterruptedAndCancelledAttemptsLeaveNoKey(LockTestSupport.Kind kind) throws Exception {
    String name = "clean/waiting-" + kind.name().toLowerCase();
    EtcdClient c = t.client();
    try (Ownership held = blocker(kind).on(t.session(c), name, 1).lock(Timing.seconds(5))) {
      String heldKey = held.key().toStringUtf8();
      DistributedLock lock = kind.on(t.session(c), name, 1);

      assertThatThrownBy(() -> lock.lock(Duration.ofMillis(300))).isInstanceOf(TimeoutException.class);
      assertThat(keys(c, name)).as("after a timeout").containsExactly(heldKey);

      CompletableFuture<Throwable> thrown = new CompletableFuture<>();
      Thread waiter = new Thread(() -> {
        try {
          lock.lock().close();
          thrown.complete(null);
        } catch (Throwable e) {
          thrown.complete(e);
        }
      }, "waiter");
      waiter.start();
      await().atMost(Timing.seconds(5)).until(() -> keys(c, name).size() == 2);
      waiter.interrupt();
      assertThat(get(thrown)).isInstanceOf(InterruptedException.class);
      assertThat(keys(c, name)).as("after an interrupt").containsExactly(heldKey);

      CompletableFuture<Ownership> async = lock.lockAsync();
      await().atMost(Timing.seconds(5)).until(() -> keys(c, name).size() == 2);
      async.cancel(false);
      await().atMost(Timing.seconds(5)).until(() -> keys(c, name).size() == 1);
      assertThat(keys(c, name)).as("after a cancel").containsExactly(heldKey);
    }
    assertThat(keys(c, name)).isEmpty();
  }

  static Stream<Arguments> answerLost() {
    return Stream.of(
        Arguments.of(LockTestSupport.Kind.MUTEX, false),
        Arguments.of(LockTestSupport.Kind.WRITE, false),
        Arguments.of(LockTestSupport.Kind.PERMIT, false),
        Arguments.of(LockTestSupport.Kind.MUTEX, true),
        Arguments.of(LockTestSupport.Kind.PERMIT, true));
  }

  /**
   * With {@code cutAfterSend}, the proxy is blackholed both ways once the key is on the server: the cleanup cannot
   * reach the server until the heal, so the key is still there after the attempt failed, and what deletes it later
   * is the background retry.
   */
  @ParameterizedTest(name = "{0}, cut both ways after the send: {1}")
  @MethodSource("answerLost")
  void anAttemptWhoseCreateWasAppliedButNeverAnsweredLeavesNoKey(LockTestSupport.Kind kind, boolean cutAfterSend)
      throws Exception {
    String name = "clean/answer-lost-" + kind.name().toLowerCase() + (cutAfterSend ? "-cut" : "");
    EtcdMember via = etcd.member(0);
    EtcdClient direct = t.client();
    EtcdClient client = t.client(via.proxiedEndpoint(), CALL_TIMEOUT);
    Session s = t.session(client, Duration.ofSeconds(10)); // the lease must outlive the test: it is not the cleaner
    DistributedLock lock = kind.on(s, name, 1);

    via.proxy().blackhole(TcpProxy.Direction.TO_CLIENT);
    long started = System.nanoTime();
    CompletableFuture<Throwable> attempt = new CompletableFuture<>();
    new Thread(() -> {
      try {
        lock.lock(Duration.ofSeconds(3)).close();
        attempt.complete(null);
      } catch (Throwable e) {
        attempt.complete(e);
      }
    }, "attempt").start();
    await().atMost(Timing.seconds(5)).until(() -> !keysOnLease(direct, name, s.leaseId()).isEmpty());
    if (cutAfterSend) {
      via.proxy().blackhole();
    }
    Throwable failure = get(attempt, Timing.seconds(15));
    long failedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertThat(failure).as("the attempt fails: its answers never come")
        .isInstanceOfAny(DeadlineExceededException.class, TimeoutException.class);
    if (cutAfterSend) {
      assertThat(keysOnLease(direct, name, s.leaseId())).as("the key the cleanup cannot reach yet").hasSize(1);
    }

    long healedAt = System.nanoTime();
    via.proxy().heal();
    await().atMost(Timing.seconds(10)).until(() -> keysOnLease(direct, name, s.leaseId()).isEmpty());
    log.info("{}{}: the attempt failed after {} ms ({}); its key gone {} ms after the heal", kind,
        cutAfterSend ? " (cut both ways after the send)" : "", failedMillis, failure.getClass().getSimpleName(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - healedAt));
    assertThat(s.isValid()).as("the session lives: its lease did not take the key").isTrue();
    assertThat(get(direct.lease().timeToLive(s.leaseId(), false)).ttl()).isPositive();

    try (Ownership again = lock.lock(Timing.seconds(10))) {
      assertThat(keys(direct, name)).containsExactly(again.key().toStringUtf8());
    }
    assertThat(keys(direct, name)).isEmpty();
  }
}
