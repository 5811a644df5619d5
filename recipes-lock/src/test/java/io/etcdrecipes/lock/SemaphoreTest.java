package io.etcdrecipes.lock;

import static io.etcdrecipes.lock.LockTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.CriticalSection;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.History;
import io.etcdrecipes.testkit.Hold;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;

/** The semaphore: never more than N holders, FIFO, cleanup of failed claims. */
class SemaphoreTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

  private final LockTestSupport t = new LockTestSupport(etcd.endpoints());

  @AfterEach
  void close() throws Exception {
    t.close();
  }

  @Test
  void sixteenClientsOnFourPermitsNeverExceedFourAndAllGetTheirTurns() throws Exception {
    CriticalSection section = sixteenClients("sem/pool", 4, 8);
    assertThat(section.history().holds().size()).isEqualTo(128);
    section.history().holds().atMostConcurrent(4);
    assertThat(section.maxConcurrent()).as("permits open at once (%s)", section).isBetween(2, 4);
    assertThat(keys(t.client(), "sem/pool")).isEmpty();
  }

  /** The negative control: the same clients on a semaphore that lets one too many in, checked as one of 4 permits. */
  @Test
  void theCheckSeesASemaphoreThatLetsFiveIn() throws Exception {
    CriticalSection section = sixteenClients("sem/five", 5, 4);
    assertThat(section.maxConcurrent()).as("permits open at once (%s)", section).isEqualTo(5);
    assertThatThrownBy(() -> section.history().holds().atMostConcurrent(4)).isInstanceOf(AssertionError.class)
        .hasMessageContaining("5 holds at once (at most 4 allowed)");
    section.history().holds().atMostConcurrent(5);
    assertThat(keys(t.client(), "sem/five")).isEmpty();
  }

  /**
   * 16 clients, each taking a permit of {@code name} ({@code permits}) {@code rounds} times; each turn spans real work
   * in the permit's name: 8 times it reads the semaphore's keys and finds fewer than {@code permits} older than its
   * own. Turns that long (several ms, longer than a handoff) keep every permit busy most of the time, so a semaphore
   * that let one more in would show it (the negative control); with one read per turn it did not.
   */
  private CriticalSection sixteenClients(String name, int permits, int rounds) throws Exception {
    CriticalSection section = new CriticalSection(new History());
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      String me = "c" + i;
      Session s = t.session();
      Semaphore sem = Semaphore.create(s, name, permits);
      threads.add(new Thread(() -> {
        try {
          for (int n = 0; n < rounds; n++) {
            try (Ownership permit = sem.acquire(Timing.seconds(30));
                 CriticalSection.Turn turn = section.enter(me, Hold.Kind.PERMIT, permit.fencingToken())) {
              for (int rpc = 0; rpc < 8; rpc++) {
                long older = get(s.client().kv().get(ByteSequence.of(name + "/"), GetOption.prefix())).kvs().stream()
                    .filter(kv -> kv.createRevision() < permit.fencingToken()).count();
                assertThat(older).as("claims older than %s", permit).isLessThan(permits);
                permit.checkValid();
              }
            }
          }
        } catch (Throwable e) {
          errors.add(e);
        }
      }));
    }
    threads.forEach(Thread::start);
    for (Thread th : threads) {
      th.join(Timing.seconds(90).toMillis());
    }
    assertThat(errors).isEmpty();
    return section;
  }

  @Test
  void whenAllPermitsAreTakenTheNextWaitsInOrderAndTryAcquireFails() throws Exception {
    EtcdClient c = t.client();
    List<Ownership> held = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      held.add(Semaphore.create(t.session(c), "sem/full", 2).acquire(Timing.seconds(5)));
    }
    Semaphore third = Semaphore.create(t.session(c), "sem/full", 2);
    Semaphore fourth = Semaphore.create(t.session(c), "sem/full", 2);
    assertThat(third.tryAcquire()).isEmpty();
    assertThat(keys(c, "sem/full")).hasSize(2);
    CompletableFuture<Ownership> w3 = third.acquireAsync();
    await().atMost(Timing.seconds(5)).until(() -> keys(c, "sem/full").size() == 3);
    CompletableFuture<Ownership> w4 = fourth.acquireAsync();
    await().atMost(Timing.seconds(5)).until(() -> keys(c, "sem/full").size() == 4);

    held.get(1).close(); // the younger holder leaves: the first in line goes in
    Ownership p3 = get(w3);
    assertThat(w4).isNotDone();
    held.get(0).close(); // the older one: the next in line goes in
    Ownership p4 = get(w4);
    assertThat(p4.fencingToken()).isGreaterThan(p3.fencingToken());
    p3.close();
    p4.close();
    assertThat(keys(c, "sem/full")).isEmpty();
  }

  @Test
  void aTimedOutClaimLeavesNoKeyAndBadInputIsRejected() throws Exception {
    EtcdClient c = t.client();
    Session s = t.session(c);
    try (Ownership only = Semaphore.create(s, "sem/timeout", 1).acquire(Timing.seconds(5))) {
      assertThatThrownBy(() -> Semaphore.create(t.session(c), "sem/timeout", 1).acquire(Duration.ofMillis(300)))
          .isInstanceOf(TimeoutException.class);
      assertThat(keys(c, "sem/timeout")).containsExactly(only.key().toStringUtf8());
    }
    assertThatThrownBy(() -> Semaphore.create(s, "sem/bad", 0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("permits");
    assertThatThrownBy(() -> Semaphore.create(s, "sem/bad/", 1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("name");
    Optional<Ownership> one = Semaphore.create(s, "sem/bad", 1).tryAcquire();
    assertThat(one).isPresent();
    one.get().close();
  }
}
