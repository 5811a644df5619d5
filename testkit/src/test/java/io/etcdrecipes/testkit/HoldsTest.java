package io.etcdrecipes.testkit;

import static io.etcdrecipes.testkit.Hold.Kind.EXCLUSIVE;
import static io.etcdrecipes.testkit.Hold.Kind.PERMIT;
import static io.etcdrecipes.testkit.Hold.Kind.READ;
import static io.etcdrecipes.testkit.Hold.Kind.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The hold checks on histories built with explicit instants: each check passes a good history and catches a bad one. */
class HoldsTest {
    private final History history = new History();

    /** An instant {@code ms} milliseconds after the history started. */
    private long t(double ms) {
        return history.startNanos() + (long) (ms * 1_000_000);
    }

    private Hold hold(String owner, Hold.Kind kind, long token, double from, double to) {
        Hold h = history.acquired(owner, kind, token, t(from));
        h.released(t(to));
        return h;
    }

    @Test
    void noOverlapPassesHoldsOneAfterAnotherEvenWhenTheyTouch() {
        hold("a", EXCLUSIVE, 10, 0, 10);
        hold("b", EXCLUSIVE, 11, 10, 20); // starts the instant a ends: not an overlap
        hold("a", EXCLUSIVE, 14, 25, 30);
        history.acquired("c", EXCLUSIVE, 20, t(31)); // open, last
        history.holds().noOverlap().tokensIncrease().atMostConcurrent(1);
    }

    @Test
    void noOverlapCatchesTwoHoldsThatIntersectAndNamesBoth() {
        hold("a", EXCLUSIVE, 10, 0, 10);
        hold("b", EXCLUSIVE, 11, 12, 20);
        hold("c", EXCLUSIVE, 12, 19.5, 30);
        assertThatThrownBy(() -> history.holds().noOverlap())
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("holds overlap")
                .hasMessageContaining("b EXCLUSIVE token 11 [12.000 ms .. 20.000 ms released]")
                .hasMessageContaining("c EXCLUSIVE token 12 [19.500 ms .. 30.000 ms released]")
                .message().doesNotContain("a EXCLUSIVE");
    }

    @Test
    void anOpenHoldLastsForever() {
        history.acquired("a", EXCLUSIVE, 10, t(0)); // never released: the holder may still act
        hold("b", EXCLUSIVE, 11, 1000, 1001);
        assertThatThrownBy(() -> history.holds().noOverlap()).hasMessageContaining("a EXCLUSIVE token 10 [0.000 ms .. open]");
    }

    @Test
    void aLostHoldEndsWhenTheLossWasObserved() {
        Hold a = history.acquired("a", EXCLUSIVE, 10, t(0));
        a.lost(t(5));
        hold("b", EXCLUSIVE, 11, 6, 7);
        history.holds().noOverlap();
        assertThat(a.end()).isEqualTo(Hold.End.LOST);
        assertThat(a.toString()).contains("5.000 ms lost");
        assertThatThrownBy(a::released).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> history.acquired("c", EXCLUSIVE, 1, t(9)).released(t(8)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void atMostConcurrentPassesASemaphoreThatKeepsItsLimit() {
        hold("a", PERMIT, 1, 0, 10);
        hold("b", PERMIT, 2, 1, 12);
        hold("c", PERMIT, 3, 10, 20); // takes a's permit the instant a returns it
        hold("d", PERMIT, 4, 12, 14);
        history.holds().atMostConcurrent(2).tokensIncrease();
        assertThatThrownBy(() -> history.holds().noOverlap()).isInstanceOf(AssertionError.class);
    }

    @Test
    void atMostConcurrentCatchesOneHoldTooMany() {
        hold("a", PERMIT, 1, 0, 10);
        hold("b", PERMIT, 2, 1, 12);
        hold("c", PERMIT, 3, 11, 20);
        hold("d", PERMIT, 4, 11.5, 14); // b, c and d at once
        assertThatThrownBy(() -> history.holds().atMostConcurrent(2))
                .hasMessageContaining("3 holds at once (at most 2 allowed) at 11.500 ms")
                .hasMessageContaining("b PERMIT").hasMessageContaining("c PERMIT").hasMessageContaining("d PERMIT")
                .message().doesNotContain("a PERMIT");
        history.holds().atMostConcurrent(3);
        assertThatThrownBy(() -> history.holds().atMostConcurrent(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void readersWritersLetsReadersShareAndWritersBeAlone() {
        hold("r1", READ, 10, 0, 10);
        hold("r2", READ, 11, 2, 12);
        hold("w1", WRITE, 13, 12, 20);
        hold("r3", READ, 14, 20, 25);
        hold("r4", READ, 15, 21, 22);
        history.holds().readersWriters().tokensIncrease();
    }

    @Test
    void readersWritersCatchesAWriterOverlappingAReader() {
        hold("r1", READ, 10, 0, 10);
        hold("w1", WRITE, 11, 9, 20);
        assertThatThrownBy(() -> history.holds().readersWriters())
                .hasMessageContaining("a writer overlaps another hold")
                .hasMessageContaining("r1 READ token 10").hasMessageContaining("w1 WRITE token 11");
    }

    @Test
    void readersWritersCatchesAReaderStartingInsideAWrite() {
        hold("w1", WRITE, 10, 0, 10);
        hold("r1", READ, 11, 5, 6);
        assertThatThrownBy(() -> history.holds().readersWriters()).hasMessageContaining("w1 WRITE").hasMessageContaining("r1 READ");
    }

    @Test
    void tokensIncreaseCatchesATokenGoingBackwards() {
        hold("a", EXCLUSIVE, 10, 0, 10);
        hold("b", EXCLUSIVE, 12, 11, 20);
        hold("c", EXCLUSIVE, 11, 21, 30); // no overlap, but a stale token
        history.holds().noOverlap();
        assertThatThrownBy(() -> history.holds().tokensIncrease())
                .hasMessageContaining("fencing token did not increase (12 then 11)")
                .hasMessageContaining("b EXCLUSIVE token 12").hasMessageContaining("c EXCLUSIVE token 11");
    }

    @Test
    void tokensIncreaseCatchesARepeatedToken() {
        hold("a", EXCLUSIVE, 10, 0, 10);
        hold("b", EXCLUSIVE, 10, 11, 20);
        assertThatThrownBy(() -> history.holds().tokensIncrease()).hasMessageContaining("(10 then 10)");
    }

    @Test
    void tokensIncreaseDoesNotOrderReadersAmongThemselvesButOrdersThemAfterWriters() {
        // r2 queued first (token 11) but its acquire returned after r3's (token 12): fine for readers
        hold("r3", READ, 12, 0, 5);
        hold("r2", READ, 11, 1, 6);
        hold("w", WRITE, 13, 7, 9);
        history.holds().tokensIncrease().readersWriters();
        hold("r1", READ, 12, 10, 11); // a reader after the writer with a token below the writer's
        assertThatThrownBy(() -> history.holds().tokensIncrease()).hasMessageContaining("(13 then 12)");
    }

    @Test
    void aWriterAfterReadersNeedsATokenAboveAllOfThem() {
        hold("r1", READ, 12, 0, 5);
        hold("r2", READ, 11, 1, 6);
        hold("w", WRITE, 12, 7, 9);
        assertThatThrownBy(() -> history.holds().tokensIncrease()).hasMessageContaining("(12 then 12)");
    }

    @Test
    void holdsComeInTheOrderTheyStarted() {
        hold("b", EXCLUSIVE, 2, 5, 6);
        hold("a", EXCLUSIVE, 1, 0, 1);
        assertThat(history.holds().list()).extracting(Hold::owner).containsExactly("a", "b");
        assertThat(history.holds().size()).isEqualTo(2);
        assertThat(history.holds().toString()).contains("2 holds:", "a EXCLUSIVE token 1");
    }
}
