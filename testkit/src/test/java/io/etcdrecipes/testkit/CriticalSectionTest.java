package io.etcdrecipes.testkit;

import static io.etcdrecipes.testkit.Hold.Kind.EXCLUSIVE;
import static io.etcdrecipes.testkit.Hold.Kind.PERMIT;
import static io.etcdrecipes.testkit.Hold.Kind.READ;
import static io.etcdrecipes.testkit.Hold.Kind.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The critical-section witness without etcd: turns one after another pass, overlapping ones are caught. */
class CriticalSectionTest {
    private final History history = new History();
    private final CriticalSection section = new CriticalSection(history);

    @Test
    void turnsOneAfterAnotherLoseNothing() {
        for (int i = 0; i < 5; i++) {
            try (CriticalSection.Turn t = section.enter("w" + i, i % 2 == 0 ? EXCLUSIVE : WRITE, 10 + i)) {
                assertThat(t.hold().isOpen()).isTrue();
            }
        }
        try (CriticalSection.Turn r1 = section.enter("r1", READ, 20); CriticalSection.Turn r2 = section.enter("r2", READ, 21)) {
            assertThat(section.maxConcurrent()).isEqualTo(2); // readers share
        }
        section.noLostUpdates();
        history.holds().readersWriters().tokensIncrease();
        assertThat(section.turns()).isEqualTo(7);
        assertThat(section.lostUpdates()).isZero();
        assertThat(history.holds().list()).allMatch(h -> h.end() == Hold.End.RELEASED);
    }

    @Test
    void twoOverlappingExclusiveTurnsLoseAnUpdate() {
        CriticalSection.Turn a = section.enter("a", EXCLUSIVE, 10);
        CriticalSection.Turn b = section.enter("b", EXCLUSIVE, 11); // a lock that let two in
        a.close();
        b.close();
        b.close(); // idempotent
        assertThat(section.lostUpdates()).isEqualTo(1);
        assertThat(section.maxConcurrent()).isEqualTo(2);
        assertThatThrownBy(section::noLostUpdates).isInstanceOf(AssertionError.class)
                .hasMessageContaining("1 of 2 exclusive turns' increments were lost");
        assertThatThrownBy(() -> history.holds().noOverlap()).hasMessageContaining("holds overlap");
    }

    @Test
    void aWriterInsideAReadTurnDisturbsTheRead() {
        CriticalSection.Turn r = section.enter("r", READ, 10);
        section.enter("w", WRITE, 11).close();
        r.close();
        assertThat(section.lostUpdates()).isZero();
        assertThatThrownBy(section::noLostUpdates).hasMessageContaining("1 read turn(s) saw a write")
                .hasMessageContaining("r READ token 10").hasMessageContaining("the counter went from 0 to 1");
    }

    @Test
    void permitsOnlyCountHowManyAreInside() {
        CriticalSection.Turn p1 = section.enter("p1", PERMIT, 10);
        CriticalSection.Turn p2 = section.enter("p2", PERMIT, 11);
        CriticalSection.Turn p3 = section.enter("p3", PERMIT, 12);
        p2.close();
        p1.close();
        p3.close();
        section.noLostUpdates();
        assertThat(section.maxConcurrent()).isEqualTo(3);
        history.holds().atMostConcurrent(3);
        assertThatThrownBy(() -> history.holds().atMostConcurrent(2)).hasMessageContaining("3 holds at once");
    }
}
