package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ChildJvmTest {
    private static final Duration START = Timing.seconds(30);
    private static final Duration WAIT = Timing.seconds(10);

    private static ChildJvm started() {
        ChildJvm child = ChildJvm.start(TestChild.class);
        assertThat(child.awaitLine("READY ", START)).isEqualTo("READY " + child.pid());
        return child;
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    @Test
    void stdinLinesGoInAndStdoutLinesComeOutInOrderWithStderrApart() {
        try (ChildJvm child = started()) {
            child.send("echo one");
            child.send("err oops");
            child.send("echo two");
            assertThat(child.awaitLine(WAIT)).isEqualTo("one");
            assertThat(child.awaitLine(WAIT)).isEqualTo("two");
            assertThat(child.lines()).containsExactly("READY " + child.pid(), "one", "two");
            await().atMost(WAIT).until(() -> child.errorLines().contains("oops"));
            assertThat(child.name()).isEqualTo("TestChild");
            assertThat(child.toString()).isEqualTo("TestChild (pid " + child.pid() + ")");
        }
    }

    @Test
    void awaitLineSkipsToTheFirstMatch() {
        try (ChildJvm child = started()) {
            child.send("echo a");
            child.send("echo b 1");
            child.send("echo c 2");
            child.send("echo d 3");
            assertThat(child.awaitLine("c", WAIT)).isEqualTo("c 2");
            assertThat(child.awaitLine(line -> line.endsWith("3"), WAIT)).isEqualTo("d 3");
            assertThat(child.lines()).hasSize(5); // skipped lines are still in lines()
        }
    }

    @Test
    void aLineThatDoesNotComeFailsWithTheProcessAndItsOutput() {
        try (ChildJvm child = started()) {
            child.send("echo something else");
            assertThatThrownBy(() -> child.awaitLine("NEVER", Duration.ofMillis(300)))
                    .isInstanceOf(AssertionError.class)
                    .hasMessageContaining("no a line starting with 'NEVER' within 300 ms from TestChild (pid " + child.pid() + ", running)")
                    .hasMessageContaining("something else");
        }
    }

    @Test
    void whenTheProcessExitsWaitingForALineFailsAtOnce() {
        try (ChildJvm child = started()) {
            child.send("exit 3");
            assertThat(child.awaitExit(WAIT)).isEqualTo(3);
            assertThat(child.isAlive()).isFalse();
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> child.awaitLine(Duration.ofMinutes(5)))
                    .hasMessageContaining("output ended before any line").hasMessageContaining("exited with code 3");
            assertThatThrownBy(() -> child.awaitLine(Duration.ofMinutes(5))).hasMessageContaining("output ended");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMinutes(1));
            assertThatThrownBy(child::pause).hasMessageContaining("not running");
        }
    }

    @Test
    void aPausedChildDoesNothingUntilResumed() {
        try (ChildJvm child = started()) {
            child.pause(); // returns once the kernel shows it stopped
            child.send("nanos");
            long resumedAt = System.nanoTime();
            child.resume();
            long answeredAt = Long.parseLong(child.awaitLine("NANOS ", WAIT).substring(6));
            assertThat(answeredAt).as("answered only after SIGCONT").isGreaterThan(resumedAt);
        }
    }

    @Test
    void killIsSigkillAndWaitsForTheExit() {
        try (ChildJvm child = started()) {
            child.kill();
            assertThat(child.isAlive()).isFalse();
            assertThat(child.awaitExit(WAIT)).isEqualTo(128 + 9);
            child.kill(); // again: nothing to do
        }
    }

    @Test
    void killTakesOnlyTheProcessAndCloseTakesWhatItStartedToo() {
        long sleeper;
        try (ChildJvm child = started()) {
            child.send("sleep-child");
            sleeper = Long.parseLong(child.awaitLine("SPAWNED ", WAIT).substring(8));
            assertThat(alive(sleeper)).isTrue();
            child.kill();
            assertThat(alive(sleeper)).as("a crash leaves what the process started").isTrue();
        }
        await().atMost(WAIT).until(() -> !alive(sleeper));
    }

    @Test
    void closeKillsAPausedChildAndWhatItStarted() {
        ChildJvm child = started();
        child.send("sleep-child");
        long sleeper = Long.parseLong(child.awaitLine("SPAWNED ", WAIT).substring(8));
        child.pause();
        child.close();
        child.close(); // idempotent
        assertThat(child.isAlive()).isFalse();
        await().atMost(WAIT).until(() -> !alive(sleeper));
    }

    @Test
    void theChildOfASigkilledJvmIsKilledByThatJvmsWatchdog() {
        try (ChildJvm middle = started()) {
            middle.send("grandchild");
            long grandchild = Long.parseLong(middle.awaitLine("GRANDCHILD ", START).substring(11));
            Optional<ProcessHandle> handle = ProcessHandle.of(grandchild);
            assertThat(handle).isPresent();
            middle.kill(); // no shutdown hook runs in the middle JVM
            long t0 = System.nanoTime();
            await().atMost(WAIT).until(() -> !handle.get().isAlive());
            System.out.println("the watchdog killed the orphaned child JVM " + (System.nanoTime() - t0) / 1_000_000
                    + " ms after its parent JVM died");
        }
    }

    @Test
    void theChildOfAJvmThatExitsNormallyIsKilledByItsShutdownHook() {
        try (ChildJvm middle = started()) {
            middle.send("grandchild");
            long grandchild = Long.parseLong(middle.awaitLine("GRANDCHILD ", START).substring(11));
            ProcessHandle handle = ProcessHandle.of(grandchild).orElseThrow();
            middle.terminate(); // SIGTERM: shutdown hooks run
            assertThat(middle.awaitExit(WAIT)).isEqualTo(128 + 15);
            await().atMost(WAIT).until(() -> !handle.isAlive());
        }
    }

    @Test
    void theBuilderPassesJvmOptionsAndTheTimingFactor() {
        try (ChildJvm child = ChildJvm.builder(TestChild.class).name("holder").maxHeap("64m").jvmArg("-Dx=y").args("ignored").start()) {
            child.awaitLine("READY", START);
            ProcessHandle.Info info = ProcessHandle.of(child.pid()).orElseThrow().info();
            assertThat(info.arguments().orElseThrow())
                    .contains("-Xmx64m", "-Dx=y", "-D" + Timing.PROPERTY + "=" + Timing.factor(), TestChild.class.getName(), "ignored");
            assertThat(child.name()).isEqualTo("holder");
        }
    }
}
