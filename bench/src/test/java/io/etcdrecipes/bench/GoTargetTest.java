package io.etcdrecipes.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

/**
 * The Java side of the Go client's protocol, without Go: answers parsed into runs and cycles, the reasons the Go rows
 * are skipped, and a whole conversation with a stand-in program (a shell script). No etcd, nothing timed.
 */
class GoTargetTest {

  @Test
  void aDoneAnswerBecomesARun() throws IOException {
    Map<String, String> f = GoTarget.done("done\tops=3\terrors=1\telapsed_ns=2000000000\tcpu_ns=150000\t"
        + "latency=317:2,971:1\tcompares_failed=0\tlast_error=context deadline exceeded");
    Load.Run r = GoTarget.run(f);
    assertThat(r.ops.sum()).isEqualTo(3);
    assertThat(r.errors.sum()).isEqualTo(1);
    assertThat(r.elapsedNanos).isEqualTo(2_000_000_000L);
    assertThat(r.cpuNanos).isEqualTo(150_000L);
    assertThat(r.latency.count()).isEqualTo(3);
    assertThat(r.latency.quantile(0.5)).isEqualTo(Histogram.value(317));
    assertThat(r.latency.quantile(1)).isEqualTo(Histogram.value(971));
    assertThat(r.lastError).hasToString("go: context deadline exceeded");
    Row row = Row.of("put", GoTarget.NAME, 16, r, Map.of());
    assertThat(row.opsPerS()).isEqualTo(1.5);
    assertThat(row.cpuNsPerOp()).isEqualTo(50_000);
  }

  @Test
  void aLockAnswerBecomesCycles() throws IOException {
    LockWorkload.Cycles c = GoTarget.cycles(GoTarget.done("done\tops=2\terrors=0\telapsed_ns=1000\tcpu_ns=10\t"
        + "latency=900:2\tacquire=800:2\trelease=700:1,701:1\thandoff=\toverlaps=0\tmax_holders=1"));
    assertThat(c.run.ops.sum()).isEqualTo(2);
    assertThat(c.acquire.count()).isEqualTo(2);
    assertThat(c.unlock.count()).isEqualTo(2);
    assertThat(c.handoff.count()).isZero();
    assertThat(c.overlaps.sum()).isZero();
    assertThat(c.maxHolders.get()).isEqualTo(1);
  }

  @Test
  void badAnswersAreRefused() {
    assertThatThrownBy(() -> GoTarget.done("failed\tunknown kv workload \"x\"")).isInstanceOf(IOException.class)
        .hasMessage("go: unknown kv workload \"x\"");
    assertThatThrownBy(() -> GoTarget.done("done\tops=1")).hasMessageContaining("no errors");
    assertThatThrownBy(() -> GoTarget.done("done\tops")).hasMessageContaining("malformed field");
    assertThatThrownBy(() -> GoTarget.done("panic: runtime error")).hasMessageContaining("unexpected answer");
  }

  @Test
  void theReadyLineNamesTheClientAndRefusesAnotherProtocol() throws IOException {
    assertThat(GoTarget.ready("ready\tgo1.19.8\tclientv3 3.4.23\tprotocol " + GoTarget.PROTOCOL))
        .isEqualTo("clientv3 3.4.23 (go1.19.8)");
    assertThatThrownBy(() -> GoTarget.ready("ready\tgo1.19.8\tclientv3 3.4.23\tprotocol 0"))
        .hasMessageContaining("stale build");
    assertThatThrownBy(() -> GoTarget.ready("failed\tcontext deadline exceeded"))
        .hasMessage("context deadline exceeded");
  }

  /** The buckets are the Go program's: these indexes are what its bucket() gives for the same values. */
  @Test
  void bucketsMatchTheGoProgram() {
    long[][] goBuckets = {{0, 0}, {63, 63}, {64, 64}, {65, 65}, {1000, 317}, {123_456, 760}, {1_234_567, 971},
        {987_654_321, 1589}, {60_000_000_000L, 1967}};
    for (long[] vb : goBuckets) {
      assertThat(Histogram.index(vb[0])).as("bucket of %d", vb[0]).isEqualTo((int) vb[1]);
    }
  }

  @Test
  void whyTheGoRowsAreSkipped(@TempDir Path dir) throws IOException {
    assertThat(GoTarget.unusable(null)).contains("scripts/ensure-go.sh");
    assertThat(GoTarget.unusable(dir.resolve("missing"))).contains("does not exist");
    Path plain = Files.writeString(dir.resolve("plain"), "");
    assertThat(GoTarget.unusable(plain)).contains("not executable");
    Bench.Options o = Bench.Options.quick();
    o.goSkipped = "golang-go is not installed";
    assertThat(Bench.goSkipReason(o)).isEqualTo("golang-go is not installed");
    o.goSkipped = null;
    o.goBinary = plain;
    assertThat(Bench.goSkipReason(o)).contains("not executable");
  }

  /** A stand-in for the Go program: the same protocol, canned answers. */
  @Test
  void aConversationWithAStandIn(@TempDir Path dir) throws IOException {
    Path program = Files.writeString(dir.resolve("etcdbench"), """
        #!/bin/sh
        printf 'ready\\tgo1.19.8\\tclientv3 3.4.23\\tprotocol 1\\n'
        while read cmd rest; do
          case "$cmd" in
            quit) exit 0 ;;
            kv) echo started; printf 'done\\tops=10\\terrors=0\\telapsed_ns=1000000000\\tcpu_ns=5000\\tlatency=317:10\\n' ;;
            lock) echo started; printf 'done\\tops=4\\terrors=0\\telapsed_ns=1000\\tcpu_ns=1\\tlatency=900:4\\tacquire=800:4\\trelease=700:4\\thandoff=850:3\\toverlaps=0\\tmax_holders=1\\n' ;;
            *) printf 'failed\\tunknown command %s\\n' "$cmd" ;;
          esac
        done
        """);
    Files.setPosixFilePermissions(program, PosixFilePermissions.fromString("rwx------"));
    assertThat(GoTarget.unusable(program)).isNull();
    GoTarget go = GoTarget.start(program, "http://127.0.0.1:1");
    try {
      assertThat(go.version()).isEqualTo("clientv3 3.4.23 (go1.19.8)");
      assertThat(go.kv("put", 16, 1_000_000_000L).ops.sum()).isEqualTo(10);
      LockWorkload.Cycles c = go.cycles(false, "bench/lock/x", 4, 60, 1000);
      assertThat(c.handoff.count()).isEqualTo(3);
      assertThat(GoTarget.orSkip("election", () -> go.cycles(true, "bench/election/x", 4, 60, 1000))).isNull();
      assertThat(go.kv("txn", 1, 1000).ops.sum()).isEqualTo(10); // still talking after a failed cell
    } finally {
      go.close();
    }
    assertThatThrownBy(() -> go.kv("put", 1, 1000)).isInstanceOf(IOException.class);
  }

  @Test
  void eachClientGoesFirstInTurn() {
    assertThat(Bench.rotated(List.of("a", "b", "c"), 0)).containsExactly("a", "b", "c");
    assertThat(Bench.rotated(List.of("a", "b", "c"), 4)).containsExactly("b", "c", "a");
    assertThat(Bench.rotated(List.of("a", "b"), 1)).containsExactly("b", "a");
  }

  @Test
  void aQuickRunKeepsGoToTheCellsTheIssueAsks() {
    assertThat(Bench.Options.quick().goKvWorkloads).containsExactly("put", "get-linearizable", "txn");
    assertThat(Bench.Options.full().goKvWorkloads).contains("get-serializable");
  }
}
