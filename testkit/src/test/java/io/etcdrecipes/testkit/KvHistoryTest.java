package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The key-value read checks on hand-made histories: each passes a good one and reports a bad one. */
class KvHistoryTest {
    private final KvHistory h = new KvHistory().initial("k", "init", 5);
    private final long t0 = System.nanoTime();

    private long t(int ms) {
        return t0 + ms * 1_000_000L;
    }

    private void write(String client, String value, long rev, int from, int to) {
        h.write(new KvHistory.Write(client, client + "-w", "k", value, rev, t(from), t(to)));
    }

    private void read(String client, String process, String value, long rev, long header, int from, int to) {
        h.read(new KvHistory.Read(client, process, "k", value, rev, header, t(from), t(to)));
    }

    @Test
    void aGoodHistoryPassesEveryCheckAndCountsWhatItChecked() {
        read("c0", "r1", "init", 5, 5, 0, 1);
        write("c0", "a", 6, 2, 3);
        read("c0", "r1", "a", 6, 6, 4, 5);
        read("c1", "r2", "a", 6, 6, 4, 5);
        write("plain", "p", 7, 6, 7);
        read("c1", "r2", "a", 6, 6, 8, 9); // missed the plain write, from its cache (header 6 < 7), 1 ms after it
        read("c0", "r1", "p", 7, 7, 20, 21);
        assertThat(h.readsReturnWrittenValues()).isEqualTo(5);
        assertThat(h.monotonicPerProcess()).isEqualTo(5);
        assertThat(h.monotonicPerClient(c -> !c.equals("plain"))).isEqualTo(3);
        assertThat(h.readsSeeCompletedWrites(w -> !w.client().equals("plain"))).isEqualTo(4);
        KvHistory.Staleness s = h.missesOnlyFromCache(w -> w.client().equals("plain"), 2_000_000);
        assertThat(s.checked()).isEqualTo(2);
        assertThat(s.misses()).hasSize(1);
        assertThat(s.maxWindowNanos()).isEqualTo(1_000_000);
        // negative control: with the plain writer counted as linearizable, the miss is reported
        assertThatThrownBy(() -> h.readsSeeCompletedWrites(w -> true)).isInstanceOf(AssertionError.class)
                .hasMessageContaining("a read missed a completed write").hasMessageContaining("c1/r2 read k = a @6");
        // and a tighter staleness bound catches it too
        assertThatThrownBy(() -> h.missesOnlyFromCache(w -> w.client().equals("plain"), 500_000))
                .hasMessageContaining("a read missed a write completed 1.000 ms before it");
    }

    @Test
    void aValueNobodyWroteOrAtTheWrongRevisionIsReported() {
        read("c0", "r1", "ghost", 6, 6, 0, 1);
        assertThatThrownBy(h::readsReturnWrittenValues).hasMessageContaining("read a value nobody wrote");
        KvHistory other = new KvHistory().initial("k", "init", 5);
        other.read(new KvHistory.Read("c0", "r1", "k", "init", 4, 6, t(0), t(1)));
        assertThatThrownBy(other::readsReturnWrittenValues).hasMessageContaining("at another revision");
    }

    @Test
    void readsGoingBackInTimeAreReported() {
        write("c0", "a", 6, 0, 1);
        read("c0", "r1", "a", 6, 6, 2, 3);
        read("c0", "r1", "init", 5, 6, 4, 5);
        assertThatThrownBy(h::monotonicPerProcess).hasMessageContaining("a process's read went back in time");
        KvHistory two = new KvHistory().initial("k", "init", 5);
        two.write(new KvHistory.Write("c0", "w", "k", "a", 6, t(0), t(1)));
        two.read(new KvHistory.Read("c0", "r1", "k", "a", 6, 6, t(2), t(3)));
        two.read(new KvHistory.Read("c0", "r2", "k", "init", 5, 6, t(4), t(5))); // another thread of the same client
        two.monotonicPerProcess();
        assertThatThrownBy(() -> two.monotonicPerClient(c -> true)).hasMessageContaining("older than its earlier read");
    }

    @Test
    void aMissAnsweredByAStoreThatHadTheWriteIsReported() {
        write("plain", "p", 6, 0, 1);
        read("c0", "r1", "init", 5, 6, 2, 3); // header 6: the answering store had the write, so not from a cache
        assertThatThrownBy(() -> h.missesOnlyFromCache(w -> true, 1_000_000_000))
                .hasMessageContaining("answered by a store that had the write");
    }
}
