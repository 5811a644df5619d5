package io.etcdrecipes.election;

import static io.etcdrecipes.election.ElectionTestSupport.end;
import static io.etcdrecipes.election.ElectionTestSupport.keys;
import static io.etcdrecipes.testkit.Futures.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.WatchResponse;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import io.etcdrecipes.testkit.EtcdMember;
import io.etcdrecipes.testkit.GuardedLog;
import io.etcdrecipes.testkit.History;
import io.etcdrecipes.testkit.Hold;
import io.etcdrecipes.testkit.Timing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Leadership terms while etcd members — every other time the etcd leader — are SIGKILLed and restarted, and client
 * connections are reset in between: 5 contenders (each its own {@link EtcdClient} over the proxies of all three
 * members, its own sessions, TTL 2 s) each lead 20 terms — once as {@link Election} campaigns that resign and campaign
 * again, once as {@link LeaderSelector}s with auto-requeue (which keep leading while the slowest finishes). In each
 * term the leader appends {@code who:token:begin}, {@code who:token:work} twice and {@code who:token:end} to ONE etcd
 * key, each append a read-modify-write in a transaction guarded by the term ({@link Leadership#txn}) and by the log
 * key's mod revision. A term that breaks (lost, member gone, deadline, unknown outcome) is retried; every completed
 * term must be in the log.
 *
 * <p>Checked afterwards: the terms as holds (from elected to resign or loss) never overlap and their tokens increase;
 * the log has no two terms interleaved ({@link GuardedLog#noInterleaving}), tokens never decrease and each term's
 * entries are contiguous ({@link GuardedLog#contiguousTurns}); and, from etcd's own history (every version of the log
 * key, read back with a watch from revision 1), each entry was written at a revision at which its token's key was the
 * leader ({@link GuardedLog#eachAppendByTheHolderOfItsRevision}) — no write of a term that had ended. What would make it fail: two leaders at once (a candidate that wins without re-checking its key, a
 * session usable after the server expired it) — also seen at once as an append rejected while the appender's key
 * still existed — or a guard that does not fence.
 */
class ElectionTermsUnderFaultsTest {

  private static final Logger log = LoggerFactory.getLogger(ElectionTermsUnderFaultsTest.class);
  private static final int CONTENDERS = 5;
  private static final int ROUNDS = 20;
  private static final Duration TTL = Duration.ofSeconds(2);

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder()
      .members(3).fastElections().unsafeNoFsync(true).build();

  /** A term that did not complete; it is retried. */
  private static final class TermFailed extends Exception {
    TermFailed(String message) {
      super(message, null, false, false);
    }
  }

  @Test
  void fiveElectionContendersWinTwentyTermsEachWithoutOverlapWhileMembersAndTheLeaderAreKilled() throws Exception {
    run("terms/el", false);
  }

  @Test
  void fiveSelectorsWithAutoRequeueLeadTwentyTermsEachWithoutOverlapWhileMembersAndTheLeaderAreKilled()
      throws Exception {
    run("terms/sel", true);
  }

  private void run(String name, boolean selectors) throws Exception {
    ByteSequence logKey = ByteSequence.of(name + "-log");
    History history = new History();
    List<String> violations = new CopyOnWriteArrayList<>();
    Set<String> completed = ConcurrentHashMap.newKeySet();
    Map<String, AtomicInteger> done = new ConcurrentHashMap<>();
    AtomicInteger failedTerms = new AtomicInteger();
    AtomicInteger newSessions = new AtomicInteger();
    CountDownLatch stop = new CountDownLatch(1);
    Nemesis nemesis = new Nemesis(stop);
    ExecutorService pool = Executors.newFixedThreadPool(CONTENDERS);
    long started = System.nanoTime();
    try (ElectionTestSupport t = new ElectionTestSupport(etcd.endpoints())) {
      List<EtcdClient> clients = new ArrayList<>();
      for (int i = 0; i < CONTENDERS; i++) {
        clients.add(t.client(String.join(",", etcd.proxiedEndpoints()), Duration.ofSeconds(2)));
        done.put("c" + i, new AtomicInteger());
      }
      Term term = new Term(name, logKey, history, violations, completed, done, failedTerms);
      nemesis.start();
      List<LeaderSelector> running = new ArrayList<>();
      List<CompletableFuture<Void>> workers = new ArrayList<>();
      for (int i = 0; i < CONTENDERS; i++) {
        String me = "c" + i;
        EtcdClient c = clients.get(i);
        if (selectors) {
          LeaderSelector s = LeaderSelector.builder(c, name, me, l -> term.run(me, c, l)).ttl(TTL).build();
          running.add(s);
          s.start();
        } else {
          workers.add(CompletableFuture.runAsync(() -> {
            try {
              campaignAndResign(me, c, term, newSessions);
            } catch (Exception e) {
              throw new RuntimeException(me + " failed", e);
            }
          }, pool));
        }
      }
      try {
        for (CompletableFuture<Void> w : workers) {
          get(w, Timing.seconds(150));
        }
        await().atMost(Timing.seconds(150))
            .until(() -> done.values().stream().allMatch(n -> n.get() >= ROUNDS));
      } finally {
        stop.countDown();
        nemesis.join(Timing.seconds(30).toMillis());
        for (LeaderSelector s : running) {
          s.close();
        }
        for (EtcdMember m : etcd.members()) {
          if (!m.isRunning()) {
            m.start();
          }
        }
      }
      log.info("{}: {} terms completed in {} ms (per contender {}; longest wait between two terms of one "
              + "contender {} ms), {} failed and retried, {} sessions made; {} members killed ({} of them the etcd "
              + "leader), {} proxy resets", selectors ? "selectors" : "election", completed.size(),
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), new java.util.TreeMap<>(done),
          longestGapMillis(history), failedTerms.get(), selectors ? "(selectors' own)" : newSessions.get(),
          nemesis.kills.get(), nemesis.leaderKills.get(), nemesis.resets.get());
      assertThat(nemesis.errors).isEmpty();
      assertThat(nemesis.kills.get()).as("members killed while the contenders ran").isGreaterThanOrEqualTo(2);
      assertThat(nemesis.leaderKills.get()).as("etcd leaders killed while the contenders ran").isPositive();

      assertThat(violations).as("appends rejected although the appender's key still existed").isEmpty();
      history.holds().noOverlap().tokensIncrease();
      assertThat(history.holds().size()).isGreaterThanOrEqualTo(CONTENDERS * ROUNDS);
      if (selectors) { // they went on leading while the slowest finished
        assertThat(completed).hasSizeGreaterThanOrEqualTo(CONTENDERS * ROUNDS);
      } else {
        assertThat(completed).hasSize(CONTENDERS * ROUNDS);
      }

      EtcdClient c = t.client();
      KeyValue logKv = get(c.kv().get(logKey)).first();
      List<String> entries = lines(logKv.value());
      GuardedLog.noInterleaving(GuardedLog.parse(entries));
      GuardedLog.contiguousTurns(GuardedLog.parse(entries));
      Set<String> inLog = new HashSet<>(entries);
      for (String turn : completed) {
        assertThat(inLog).as("completed term %s in the log", turn)
            .contains(turn + ":begin", turn + ":work", turn + ":end");
      }
      int checked = eachEntryWrittenByTheLeaderOfItsRevision(c, name, logKey, logKv);
      assertThat(checked).as("versions of the log checked").isGreaterThanOrEqualTo(CONTENDERS * ROUNDS * 4);
      log.info("the log has {} entries; each was written at a revision at which its token's key led ({} checked)",
          entries.size(), checked);
      // sessions lost to the faults leave their keys until the TTL runs out
      await().atMost(Timing.seconds(10)).until(() -> keys(c, name).isEmpty());
      get(c.kv().delete(logKey));
    } finally {
      pool.shutdownNow();
    }
  }

  /** The longest time from the end of one contender's term to the start of its next. */
  private static long longestGapMillis(History history) {
    Map<String, Long> lastEnd = new HashMap<>();
    long longest = 0;
    for (Hold h : history.holds().list()) {
      Long end = lastEnd.get(h.owner());
      if (end != null) {
        longest = Math.max(longest, h.startNanos() - end);
      }
      lastEnd.put(h.owner(), h.endNanos());
    }
    return TimeUnit.NANOSECONDS.toMillis(longest);
  }

  private static List<String> lines(ByteSequence value) {
    return Arrays.stream(value.toStringUtf8().split("\n")).filter(e -> !e.isEmpty()).toList();
  }

  /**
   * Reads every version of the log from etcd's history (a watch from revision 1) and checks that the entry each
   * version added was written by the leader at that revision: the oldest key under the election's prefix, read at
   * the revision of the write, has the entry's token as its create revision.
   */
  private static int eachEntryWrittenByTheLeaderOfItsRevision(EtcdClient c, String name, ByteSequence logKey,
                                                              KeyValue logNow) throws Exception {
    List<KeyValue> versions = new CopyOnWriteArrayList<>();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    Watcher w = c.watch().watch(logKey, WatchOption.builder().revision(1).build(), new WatchListener() {
      @Override
      public void onNext(WatchResponse response) {
        for (WatchEvent e : response.events()) {
          if (e.type() == WatchEvent.Type.PUT) {
            versions.add(e.kv());
          }
        }
      }

      @Override
      public void onError(EtcdException error) {
        errors.add(error);
      }
    });
    try {
      await().atMost(Timing.seconds(10)).until(() -> !errors.isEmpty()
          || (!versions.isEmpty() && versions.get(versions.size() - 1).modRevision() >= logNow.modRevision()));
    } finally {
      w.close();
    }
    assertThat(errors).isEmpty();
    assertThat(versions).hasSize((int) logNow.version());
    List<CompletableFuture<GetResponse>> leaders = new ArrayList<>();
    for (KeyValue v : versions) {
      leaders.add(c.kv().get(ByteSequence.of(name + "/"),
          GetOption.firstCreate().toBuilder().revision(v.modRevision()).build()));
    }
    List<GuardedLog.Version> history = new ArrayList<>();
    for (int i = 0; i < versions.size(); i++) {
      KeyValue leader = get(leaders.get(i)).first();
      history.add(new GuardedLog.Version(versions.get(i).modRevision(), lines(versions.get(i).value()),
          leader == null ? GuardedLog.NO_TOKEN : leader.createRevision()));
    }
    return GuardedLog.eachAppendByTheHolderOfItsRevision(history);
  }

  /** An Election contender: campaigns, leads one term, resigns, until it completed {@link #ROUNDS} terms. */
  private static void campaignAndResign(String me, EtcdClient c, Term term, AtomicInteger newSessions)
      throws Exception {
    long deadline = System.nanoTime() + Timing.seconds(140).toNanos();
    Session s = null;
    try {
      while (term.done.get(me).get() < ROUNDS) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError(me + " completed only " + term.done.get(me).get() + " terms in time");
        }
        if (s == null || !s.isValid()) {
          if (s != null) {
            s.close();
          }
          try {
            s = Session.builder(c).ttl(TTL).build(Timing.seconds(10));
            newSessions.incrementAndGet();
          } catch (TimeoutException | EtcdException e) {
            s = null;
            term.failed.incrementAndGet();
            continue;
          }
        }
        Leadership l;
        try {
          l = Election.create(s, term.name).campaign(me, Timing.seconds(10));
        } catch (TimeoutException | EtcdException e) {
          term.failed.incrementAndGet();
          continue;
        }
        try {
          term.run(me, c, l);
        } finally {
          l.close(); // resigns
        }
      }
    } finally {
      if (s != null) {
        s.close();
      }
    }
  }

  /** One term's work, the same for both kinds of contender: four guarded appends; counted when all landed. */
  private record Term(String name, ByteSequence logKey, History history, List<String> violations,
                      Set<String> completed, Map<String, AtomicInteger> done, AtomicInteger failed) {

    void run(String me, EtcdClient c, Leadership l) throws InterruptedException {
      String turn = me + ":" + l.fencingToken();
      Hold h = history.acquired(me, l.fencingToken());
      l.lost().thenRun(() -> end(h, true)); // the instant the leader is told: later writes are its own fault
      boolean ok = false;
      try {
        append(c, l, turn + ":begin");
        append(c, l, turn + ":work");
        append(c, l, turn + ":work");
        append(c, l, turn + ":end");
        ok = true;
      } catch (TermFailed | EtcdException e) {
        failed.incrementAndGet();
      } finally {
        end(h, false); // before the resign
      }
      if (ok) {
        completed.add(turn);
        done.get(me).incrementAndGet();
      }
    }

    /** Appends {@code entry} to the log: read, then write guarded by the term and the log's mod revision. */
    private void append(EtcdClient c, Leadership term, String entry) throws TermFailed, InterruptedException {
      if (!term.isValid()) {
        throw new TermFailed("told the term is lost");
      }
      GetResponse g = call(c.kv().get(logKey));
      KeyValue current = g.first();
      long modRevision = current == null ? 0 : current.modRevision();
      String text = current == null ? "" : current.value().toStringUtf8();
      TxnResponse r = call(term.txn(c.kv(), Compare.modRevision(logKey).equal(modRevision))
          .then(Op.put(logKey, ByteSequence.of(text + entry + "\n")))
          .orElse(Op.get(term.key()))
          .commit());
      if (!r.succeeded()) {
        KeyValue mine = r.getResponse(0).first();
        if (mine != null && mine.createRevision() == term.fencingToken()) {
          violations.add(entry + ": the log changed (mod revision " + modRevision + " read at revision "
              + g.header().revision() + ") while the leader's key still existed at revision " + r.header().revision());
        }
        throw new TermFailed("the guarded append was rejected");
      }
    }
  }

  private static <T> T call(CompletableFuture<T> f) throws TermFailed, InterruptedException {
    try {
      return f.get(Timing.seconds(15).toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new TermFailed(String.valueOf(e.getCause()));
    } catch (TimeoutException e) {
      throw new TermFailed("no answer in time");
    }
  }

  /**
   * Kills a member every second or so, every other time the etcd leader, and starts it again (one down at most); in
   * between resets every client connection through one member's proxy, so calls in flight fail.
   */
  private static final class Nemesis extends Thread {
    final CountDownLatch stop;
    final AtomicInteger kills = new AtomicInteger();
    final AtomicInteger leaderKills = new AtomicInteger();
    final AtomicInteger resets = new AtomicInteger();
    final List<Throwable> errors = new CopyOnWriteArrayList<>();

    Nemesis(CountDownLatch stop) {
      super("nemesis");
      this.stop = stop;
      setDaemon(true);
    }

    @Override
    public void run() {
      Random random = new Random();
      try {
        for (int round = 0; ; round++) {
          // the pacing of the faults: how long the cluster runs whole, and how long a member stays down
          if (stop.await(100 + random.nextInt(200), TimeUnit.MILLISECONDS)) {
            return;
          }
          etcd.member(random.nextInt(etcd.members().size())).proxy().reset();
          resets.incrementAndGet();
          if (stop.await(100 + random.nextInt(200), TimeUnit.MILLISECONDS)) {
            return;
          }
          EtcdMember leader = etcd.cluster().leader();
          EtcdMember victim = leader;
          if (round % 2 == 1) {
            List<EtcdMember> followers = new ArrayList<>(etcd.members());
            followers.remove(leader);
            victim = followers.get(random.nextInt(followers.size()));
          } else {
            leaderKills.incrementAndGet();
          }
          log.info("nemesis: killing {}{}", victim.name(), victim == leader ? " (the etcd leader)" : "");
          victim.kill();
          kills.incrementAndGet();
          boolean stopping = stop.await(300 + random.nextInt(300), TimeUnit.MILLISECONDS);
          victim.start();
          if (stopping) {
            return;
          }
        }
      } catch (Throwable e) {
        errors.add(e);
      }
    }
  }
}
