package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class GuardedLogTest {

    private static void check(String... entries) {
        GuardedLog.noInterleaving(GuardedLog.parse(List.of(entries)));
    }

    @Test
    void turnsOneAfterAnotherWithRisingTokensPass() {
        check("p1:10:begin", "p1:10:write", "p1:10:end",
                "p2:12:begin", "p2:12:write", "p2:12:write", "p2:12:end",
                "p1:15:begin", "p1:15:end", "p1:15:begin", "p1:15:end", // two turns under one hold
                "p3:16:note"); // an entry outside any turn
    }

    @Test
    void aTurnCutShortByTheNextHolderPassesIfItsHolderWritesNoMore() {
        // p1 lost its lock mid-turn; its guarded writes after that were rejected, so none are in the log
        check("p1:10:begin", "p1:10:write", "p2:12:begin", "p2:12:end");
    }

    @Test
    void anEntryInsideAnotherHoldersTurnIsCaught() {
        assertThatThrownBy(() -> check("p1:10:begin", "p1:10:write", "p2:12:write", "p1:10:end"))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("guarded log entry #2 (p2:12:write) interleaves the turn of p1:10 begun at #0")
                .hasMessageContaining("> #2 p2:12:write");
    }

    @Test
    void aHolderWritingAfterItsTurnWasCutShortIsCaught() {
        // without tokens only the turns show it: p1's third cycle was cut short by p2, then p1 wrote again
        assertThatThrownBy(() -> check("p1#3:begin", "p2#1:begin", "p2#1:end", "p1#3:write"))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("#3 (p1#3:write) p1#3 writes after its turn was cut short by entry #1 (p2#1:begin)");
        // with tokens the stale token shows it first
        assertThatThrownBy(() -> check("p1:10:begin", "p2:12:begin", "p2:12:end", "p1:10:end"))
                .hasMessageContaining("#3 (p1:10:end) fencing token went down from 12 to 10");
        assertThatThrownBy(() -> check("p1:10:begin", "p2:12:begin", "p2:12:end", "p3:13:begin", "p1:13:write"))
                .hasMessageContaining("interleaves the turn of p3:13");
    }

    @Test
    void aLogWithoutTokensIsCheckedForTurnsOnly() {
        check("p2#1:begin", "p2#1:end", "p1#1:begin", "p1#1:x", "p1#1:end", "p2#2:begin", "p1#2:begin", "p1#2:end");
        assertThatThrownBy(() -> check("p2#1:begin", "p1#1:x", "p2#1:end"))
                .hasMessageContaining("#1 (p1#1:x) interleaves the turn of p2#1 begun at #0");
    }

    @Test
    void aTokenGoingDownIsCaught() {
        assertThatThrownBy(() -> check("p1:10:begin", "p1:10:end", "p2:12:begin", "p2:12:end", "p1:10:begin", "p1:10:end"))
                .hasMessageContaining("#4 (p1:10:begin) fencing token went down from 12 to 10");
    }

    @Test
    void anEndWithoutItsBeginIsCaught() {
        assertThatThrownBy(() -> check("p1:10:begin", "p1:10:end", "p1:10:end")).hasMessageContaining("ends a turn that is not open");
        assertThatThrownBy(() -> check("p1:10:begin", "p1:10:begin")).hasMessageContaining("begins again inside its own turn");
    }

    @Test
    void entriesParseFromTheRightSoHoldersMayContainColons() {
        assertThat(GuardedLog.Entry.parse("host:1:p1:42:begin")).isEqualTo(new GuardedLog.Entry("host:1:p1", 42, "begin"));
        assertThat(GuardedLog.Entry.parse("p1:x:begin")).isEqualTo(new GuardedLog.Entry("p1:x", GuardedLog.NO_TOKEN, "begin"));
        assertThat(GuardedLog.Entry.parse("p1#3:end")).isEqualTo(new GuardedLog.Entry("p1#3", GuardedLog.NO_TOKEN, "end"));
        assertThat(GuardedLog.Entry.parse("p1#3:end").toString()).isEqualTo("p1#3:end");
        assertThatThrownBy(() -> GuardedLog.Entry.parse("p1-begin")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void contiguousTurnsPassesRunsAndCatchesATurnResumedAfterAnother() {
        assertThat(GuardedLog.contiguousTurns(GuardedLog.parse(List.of("p1:10:begin", "p1:10:end", "p2:12:begin", "p2:12:end"))))
                .isEqualTo(4);
        // noInterleaving alone accepts this (p1's turn has ended when it writes again); the runs do not
        List<GuardedLog.Entry> resumed = GuardedLog.parse(List.of("p1:10:begin", "p1:10:end", "p2:12:note", "p1:10:late"));
        assertThatThrownBy(() -> GuardedLog.contiguousTurns(resumed))
                .hasMessageContaining("#3 (p1:10:late) continues its turn last written at #1");
    }

    @Test
    void eachAppendByTheHolderOfItsRevisionPassesAFencedLogAndCatchesAStaleWrite() {
        List<GuardedLog.Version> good = List.of(
                new GuardedLog.Version(20, List.of("p1:10:begin"), 10),
                new GuardedLog.Version(21, List.of("p1:10:begin", "p1:10:end"), 10),
                new GuardedLog.Version(23, List.of("p1:10:begin", "p1:10:end", "p2:22:begin"), 22));
        assertThat(GuardedLog.eachAppendByTheHolderOfItsRevision(good)).isEqualTo(3);
        // p1 wrote at revision 23, when p2 (token 22) led: a write of an ended term
        List<GuardedLog.Version> stale = List.of(good.get(0), new GuardedLog.Version(23, List.of("p1:10:begin", "p1:10:end"), 22));
        assertThatThrownBy(() -> GuardedLog.eachAppendByTheHolderOfItsRevision(stale))
                .hasMessageContaining("p1:10:end was written at revision 23, when the holder's token was 22");
        List<GuardedLog.Version> nobody = List.of(new GuardedLog.Version(20, List.of("p1:10:begin"), GuardedLog.NO_TOKEN));
        assertThatThrownBy(() -> GuardedLog.eachAppendByTheHolderOfItsRevision(nobody)).hasMessageContaining("when nobody held");
        List<GuardedLog.Version> twoAtOnce = List.of(new GuardedLog.Version(20, List.of("p1:10:begin", "p1:10:end"), 10));
        assertThatThrownBy(() -> GuardedLog.eachAppendByTheHolderOfItsRevision(twoAtOnce))
                .hasMessageContaining("does not append one entry");
    }
}
