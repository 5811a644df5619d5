package io.etcdrecipes.recipes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The shared mechanics the lock and election recipes will stand on, against Go's own: {@code etcdctl lock} and
 * {@code etcdctl elect} (etcd's Go {@code concurrency} package) as peers on the same prefixes. Our owner keys
 * queue behind theirs and theirs behind ours; a leader read sees Go's proposal and Go's observer sees ours.
 */
class GoInteropTest {

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(1).unsafeNoFsync(true).build();

  private static final Duration WAIT = Duration.ofSeconds(10);

  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private EtcdClient client() {
    EtcdClient c = EtcdClient.builder().endpoints(etcd.endpoints()).callTimeout(Duration.ofSeconds(5)).build();
    toClose.add(c);
    return c;
  }

  private Session session(EtcdClient c) {
    Session s = Session.builder(c).ttl(Duration.ofSeconds(10)).build();
    toClose.add(s);
    return s;
  }

  private GoPeer etcdctl(String... args) throws IOException {
    GoPeer p = GoPeer.start(etcd.endpoints(), args);
    toClose.add(p);
    return p;
  }

  private static <T> T get(CompletableFuture<T> f) throws Exception {
    return f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Test
  void ourContenderQueuesBehindEtcdctlLockAndIsWokenByItsRelease() throws Exception {
    EtcdClient c = client();
    GoPeer holder = etcdctl("lock", "interop/lock");
    String goKey = holder.nextLine(WAIT); // etcdctl prints its key once it holds the lock
    assertThat(goKey).matches("interop/lock/[0-9a-f]+");

    Session s = session(c);
    OwnerKey mine = get(Keys.createOrGet(c.kv(), "interop/lock", s.leaseId(), ""));
    assertThat(mine.key().toStringUtf8()).isEqualTo("interop/lock/" + Long.toHexString(s.leaseId()));
    assertThat(mine.isOldest()).isFalse();
    assertThat(mine.oldest().key().toStringUtf8()).isEqualTo(goKey);

    WaitForDelete w = WaitForDelete.start(c, Keys.ownerPrefix(ByteSequence.of("interop/lock")),
        mine.createRevision() - 1);
    toClose.add(w);
    await().atMost(WAIT).until(() -> ByteSequence.of(goKey).equals(w.watching()));
    assertThat(w.isDone()).isFalse();

    holder.interrupt(); // etcdctl unlocks on SIGINT
    w.await(WAIT);
    assertThat(holder.awaitExit(WAIT)).isZero();
    OwnerKey now = get(Keys.createOrGet(c.kv(), "interop/lock", s.leaseId(), ""));
    assertThat(now.created()).isFalse();
    assertThat(now.isOldest()).isTrue();
    assertThat(now.guard().fencingToken()).isEqualTo(mine.createRevision());
  }

  @Test
  void etcdctlLockWaitsForOurKeyAndGetsTheLockWhenOurSessionCloses() throws Exception {
    EtcdClient c = client();
    Session s = session(c);
    OwnerKey mine = get(Keys.createOrGet(c.kv(), "interop/ours", s.leaseId(), ""));
    assertThat(mine.isOldest()).isTrue();

    // etcdctl runs the command only once it holds the lock
    GoPeer waiter = etcdctl("lock", "interop/ours", "echo", "go-got-it");
    // it queues: a second key under the prefix, younger than ours, and no output while ours exists
    await().atMost(WAIT).until(() -> get(c.kv().get(ByteSequence.of("interop/ours/"), GetOption.prefix()))
        .count() == 2);
    List<KeyValue> keys = get(c.kv().get(ByteSequence.of("interop/ours/"), GetOption.prefix())).kvs();
    assertThat(keys).anySatisfy(kv -> assertThat(kv.createRevision()).isGreaterThan(mine.createRevision()));
    assertThat(waiter.lines()).isEmpty();
    assertThat(waiter.isAlive()).isTrue();

    s.close(); // revokes the lease: our key goes at once
    assertThat(waiter.nextLine(WAIT)).isEqualTo("go-got-it");
    assertThat(waiter.awaitExit(WAIT)).isZero();
    assertThat(get(c.kv().get(ByteSequence.of("interop/ours/"), GetOption.prefix())).count()).isZero();
  }

  @Test
  void leaderReadsAgreeWithEtcdctlElectBothWays() throws Exception {
    EtcdClient c = client();
    // Go campaigns and wins; our leader read (first by create revision) sees its key and proposal
    GoPeer goLeader = etcdctl("elect", "interop/elect", "go-proposal");
    String goKey = goLeader.nextLine(WAIT);
    assertThat(goLeader.nextLine(WAIT)).isEqualTo("go-proposal");
    KeyValue leader = get(c.kv().get(Keys.ownerPrefix(ByteSequence.of("interop/elect")), GetOption.firstCreate()))
        .first();
    assertThat(leader.key().toStringUtf8()).isEqualTo(goKey);
    assertThat(leader.value().toStringUtf8()).isEqualTo("go-proposal");

    // our candidate queues behind it; when Go resigns (SIGINT), ours is the oldest and Go's observer says so
    Session s = session(c);
    OwnerKey mine = get(Keys.createOrGet(c.kv(), "interop/elect", s.leaseId(), "java-proposal"));
    assertThat(mine.isOldest()).isFalse();
    goLeader.interrupt();
    assertThat(goLeader.awaitExit(WAIT)).isZero();
    await().atMost(WAIT).until(() -> get(Keys.createOrGet(c.kv(), "interop/elect", s.leaseId(), "java-proposal"))
        .isOldest());
    GoPeer observer = etcdctl("elect", "--listen", "interop/elect");
    assertThat(observer.nextLine(WAIT)).isEqualTo(mine.key().toStringUtf8());
    assertThat(observer.nextLine(WAIT)).isEqualTo("java-proposal");
  }

  /** A running etcdctl, its output read line by line as it comes; closing kills it. */
  static final class GoPeer implements AutoCloseable {
    private final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    private GoPeer(Process process) {
      this.process = process;
      Thread reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = r.readLine()) != null) {
            lines.add(line);
          }
        } catch (IOException e) {
          // the process was killed: nothing more to read
        }
      }, "etcdctl-output");
      reader.setDaemon(true);
      reader.start();
    }

    static GoPeer start(String endpoints, String... args) throws IOException {
      List<String> cmd = new ArrayList<>(List.of("etcdctl", "--endpoints", endpoints));
      cmd.addAll(List.of(args));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      p.getOutputStream().close();
      return new GoPeer(p);
    }

    /** The next output line; fails the test if none comes in time. */
    String nextLine(Duration timeout) throws InterruptedException {
      String line = lines.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
      assertThat(line).as("a line from etcdctl within %s", timeout).isNotNull();
      return line;
    }

    List<String> lines() {
      return List.copyOf(lines);
    }

    boolean isAlive() {
      return process.isAlive();
    }

    /** SIGINT, as a user's Ctrl-C: etcdctl then unlocks or resigns before it exits. */
    void interrupt() throws IOException, InterruptedException {
      Process kill = new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).start();
      assertThat(kill.waitFor(5, TimeUnit.SECONDS)).isTrue();
    }

    int awaitExit(Duration timeout) throws InterruptedException {
      assertThat(process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)).as("etcdctl exited").isTrue();
      return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
      process.destroyForcibly();
      process.waitFor(5, TimeUnit.SECONDS);
    }
  }
}
