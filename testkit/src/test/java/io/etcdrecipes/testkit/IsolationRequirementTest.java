package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.TestAbortedException;

/** @NeedsIsolation: passes where isolation works, fails where it does not, skips (and reports) only when told to. */
class IsolationRequirementTest {

    private static final Optional<String> NO_ROOT = Optional.of("this JVM runs as uid 1000");

    @Test
    void whereIsolationWorksNothingHappens() {
        IsolationRequirement.check("T#m", Optional.empty(), name -> null);
    }

    @Test
    void whereItCannotWorkTheTestFailsAndSaysHowToOptOut() {
        assertThatThrownBy(() -> IsolationRequirement.check("T#m", NO_ROOT, name -> null))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("T#m needs to isolate etcd members, which cannot work here: this JVM runs as uid 1000")
                .hasMessageContaining("ETCD_RECIPES_SKIP_ROOT_TESTS=1");
        // anything but 1 is no opt-out
        assertThatThrownBy(() -> IsolationRequirement.check("T#m", NO_ROOT,
                Map.of(IsolationRequirement.SKIP_VARIABLE, "yes")::get)).isInstanceOf(AssertionError.class);
    }

    @Test
    void withTheOptOutItIsSkippedAndReported(@TempDir Path dir) throws Exception {
        Path report = dir.resolve("skipped.txt");
        Map<String, String> env = Map.of(IsolationRequirement.SKIP_VARIABLE, "1",
                IsolationRequirement.REPORT_VARIABLE, report.toString());
        assertThatThrownBy(() -> IsolationRequirement.check("A#one", NO_ROOT, env::get))
                .isInstanceOf(TestAbortedException.class).hasMessageContaining("uid 1000");
        assertThatThrownBy(() -> IsolationRequirement.check("B#two", NO_ROOT, env::get))
                .isInstanceOf(TestAbortedException.class);
        assertThat(Files.readAllLines(report)).containsExactly("A#one: this JVM runs as uid 1000",
                "B#two: this JVM runs as uid 1000");
        // without a report file it is skipped all the same
        assertThatThrownBy(() -> IsolationRequirement.check("C#three", NO_ROOT,
                Map.of(IsolationRequirement.SKIP_VARIABLE, "1")::get)).isInstanceOf(TestAbortedException.class);
    }

    @Test
    @NeedsIsolation
    void theAnnotationLetsATestRunWhereIsolationWorks() {
        assertThat(EtcdCluster.isolationUnavailableReason()).isEmpty();
    }
}
