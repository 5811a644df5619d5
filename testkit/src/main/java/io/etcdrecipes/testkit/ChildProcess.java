package io.etcdrecipes.testkit;

import io.etcdrecipes.testkit.internal.Procs;
import io.etcdrecipes.testkit.internal.Registry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A process a test started as a peer or a victim ({@code etcdctl lock}, a {@link ChildJvm} holding a lock): its
 * standard output as a queue of lines, signals, and a guarantee that it does not outlive the test.
 *
 * <p>Output: every stdout line goes into a queue that {@link #awaitLine} takes from, in order, and into
 * {@link #lines()}; stderr lines are kept apart ({@link #errorLines()}) so logs never get in the way of a line
 * protocol, and the last of both are shown when an expected line does not come.
 *
 * <p>Faults: {@link #pause()} (SIGSTOP) and {@link #resume()} (SIGCONT) return once the kernel shows the process
 * stopped or running again; {@link #kill()} is SIGKILL to this process only, like a crash (anything it started
 * keeps running until {@link #close()}); {@link #interrupt()} and {@link #terminate()} are Ctrl-C and a polite stop.
 *
 * <p>Cleanup: {@link #close()} kills the process and whatever it started and waits for them. Until then it is
 * recorded like the testkit's etcd processes (pid and start time, see {@code internal.Registry}), so a JVM shutdown
 * hook kills it on a normal exit and the per-JVM watchdog kills it within about a second if the test JVM is
 * SIGKILLed.
 */
public class ChildProcess implements AutoCloseable {
    private static final AtomicLong SEQUENCE = new AtomicLong();
    /** Put into the queue when stdout ends, so waiting stops at once instead of at the timeout. */
    private static final String END = new String("<end of output>");
    private static final int KEPT_ERROR_LINES = 200;

    private final String name;
    private final Process process;
    private final String recordId;
    private final BlockingQueue<String> queue = new LinkedBlockingQueue<>();
    private final List<String> lines = new ArrayList<>();
    private final List<String> errorLines = new ArrayList<>();
    private final List<ProcessHandle> started = new ArrayList<>();
    private final Runnable shutdownAction = this::killAll;

    /** Takes over a just-started process: records it for cleanup and starts reading its output. */
    ChildProcess(String name, Process process) {
        this.name = Objects.requireNonNull(name, "name");
        this.process = process;
        this.recordId = "proc" + SEQUENCE.incrementAndGet();
        try {
            Registry.initOnce(); // the watchdog and the shutdown hook that guard etcd processes guard ours too
            Registry.recordMember(recordId, 0, process.pid());
            Registry.addShutdownAction(shutdownAction);
        } catch (RuntimeException e) {
            process.destroyForcibly();
            throw e;
        }
        reader(process.getInputStream(), "out", line -> {
            synchronized (lines) {
                lines.add(line);
            }
            queue.add(line);
        }, () -> queue.add(END));
        reader(process.getErrorStream(), "err", line -> {
            synchronized (errorLines) {
                errorLines.add(line);
                if (errorLines.size() > KEPT_ERROR_LINES) errorLines.remove(0);
            }
        }, () -> {});
    }

    /** Starts {@code command} with stdin, stdout and stderr as pipes and the extra environment. */
    static Process startProcess(List<String> command, Map<String, String> env) {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        try {
            return pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + String.join(" ", command) + ": " + e.getMessage(), e);
        }
    }

    private void reader(InputStream in, String stream, Consumer<String> onLine, Runnable onEnd) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) onLine.accept(line);
            } catch (IOException e) {
                // the process is gone: no more output
            } finally {
                onEnd.run();
            }
        }, "testkit-" + name.replace(' ', '-') + "-" + stream);
        t.setDaemon(true);
        t.start();
    }

    /** What the process is called in messages (the command or the main class). */
    public String name() {
        return name;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** The underlying process, for what this class does not offer (its stdin, say). */
    protected Process process() {
        return process;
    }

    // ------------------------------------------------------------------ output

    /** The next stdout line not yet taken by an {@code awaitLine}; fails the test if none comes within {@code timeout}. */
    public String awaitLine(Duration timeout) {
        return awaitLine(line -> true, "any line", timeout);
    }

    /** The next stdout line starting with {@code prefix}; lines before it are taken and skipped. */
    public String awaitLine(String prefix, Duration timeout) {
        return awaitLine(line -> line.startsWith(prefix), "a line starting with '" + prefix + "'", timeout);
    }

    /** The next stdout line that {@code matching} accepts; lines before it are taken and skipped. */
    public String awaitLine(Predicate<String> matching, Duration timeout) {
        return awaitLine(matching, "a matching line", timeout);
    }

    private String awaitLine(Predicate<String> matching, String what, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                String line = left > 0 ? queue.poll(left, TimeUnit.NANOSECONDS) : queue.poll();
                if (line == null) throw new AssertionError(describe("no " + what + " within " + timeout.toMillis() + " ms"));
                if (line == END) {
                    queue.add(END); // later calls fail at once too
                    throw new AssertionError(describe("output ended before " + what));
                }
                if (matching.test(line)) return line;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(describe("interrupted while waiting for " + what), e);
        }
    }

    /** Every stdout line so far, taken or not. */
    public List<String> lines() {
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    /** The last stderr lines (up to 200). */
    public List<String> errorLines() {
        synchronized (errorLines) {
            return List.copyOf(errorLines);
        }
    }

    private String describe(String problem) {
        String state = process.isAlive() ? "running" : "exited with code " + process.exitValue();
        List<String> out = lines();
        List<String> err = errorLines();
        return problem + " from " + name + " (pid " + pid() + ", " + state + ")"
                + "\n  last stdout: " + out.subList(Math.max(0, out.size() - 20), out.size())
                + "\n  last stderr: " + err.subList(Math.max(0, err.size() - 20), err.size());
    }

    // ------------------------------------------------------------------ signals and exit

    /** SIGINT, as Ctrl-C: {@code etcdctl lock} and {@code elect} unlock or resign before they exit. */
    public void interrupt() {
        signal("INT");
    }

    /** SIGTERM: a JVM runs its shutdown hooks. */
    public void terminate() {
        signal("TERM");
    }

    /** SIGSTOP; returns once the process is stopped (a holder that stops making progress, as in a long GC pause). */
    public void pause() {
        signal("STOP");
        awaitState(true);
    }

    /** SIGCONT; returns once the process runs again (or has run on and exited). */
    public void resume() {
        signal("CONT");
        awaitState(false);
    }

    /**
     * SIGKILL to this process (not to what it started, so a crash is a crash: an etcd cluster a child JVM started is
     * left to the testkit's watchdog, as it would be in production), and waits until it has exited.
     */
    public void kill() {
        rememberDescendants();
        process.destroyForcibly();
        awaitExitQuietly(Duration.ofSeconds(10));
        if (process.isAlive()) throw new AssertionError(describe("SIGKILL did not end it within 10 s"));
    }

    /** Waits until the process exits by itself and returns its exit code; fails the test if it does not in time. */
    public int awaitExit(Duration timeout) {
        if (!awaitExitQuietly(timeout)) throw new AssertionError(describe("did not exit within " + timeout.toMillis() + " ms"));
        return process.exitValue();
    }

    /** Kills the process and everything it started, waits for them, and forgets them. Idempotent. */
    @Override
    public void close() {
        killAll();
        Registry.removeShutdownAction(shutdownAction);
        Registry.forgetMember(recordId, 0);
    }

    private void killAll() {
        rememberDescendants();
        if (process.isAlive()) process.destroyForcibly();
        awaitExitQuietly(Duration.ofSeconds(10));
        List<ProcessHandle> others;
        synchronized (started) {
            others = List.copyOf(started);
        }
        // ProcessHandle checks the start time, so a reused pid is never killed.
        others.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle h : others) {
            try {
                h.onExit().get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                // best effort: what is left is reaped by its own owner's watchdog
            }
        }
    }

    /** What the process started, before it dies (its children are then reparented and no longer found from it). */
    private void rememberDescendants() {
        List<ProcessHandle> now = process.descendants().toList();
        synchronized (started) {
            for (ProcessHandle h : now) if (!started.contains(h)) started.add(h);
        }
    }

    private boolean awaitExitQuietly(Duration timeout) {
        try {
            return process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !process.isAlive();
        }
    }

    private void signal(String signal) {
        // A process that has exited may have been reaped and its pid reused: signal only a live one.
        if (!process.isAlive()) throw new AssertionError(describe("cannot send SIG" + signal + ": not running"));
        if (!Procs.signal(process.pid(), signal)) throw new AssertionError(describe("kill -" + signal + " failed"));
    }

    /** Waits (bounded) until /proc shows the process stopped ('T') or not. */
    private void awaitState(boolean stopped) {
        Path stat = Path.of("/proc", Long.toString(process.pid()), "stat");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                if (!stopped) return; // it ran on and exited: not stopped any more
                break;
            }
            try {
                String s = Files.readString(stat, StandardCharsets.ISO_8859_1);
                char state = s.charAt(s.lastIndexOf(')') + 2);
                if ((state == 'T' || state == 't') == stopped) return;
                TimeUnit.MILLISECONDS.sleep(1);
            } catch (IOException | RuntimeException e) {
                break;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        // it may have exited between the liveness check and the read of its stat (seen: etcdctl lock exits at once on
        // SIGCONT when its session expired while stopped)
        if (!stopped && !process.isAlive()) return;
        throw new AssertionError(describe(stopped ? "not stopped after SIGSTOP" : "not running after SIGCONT"));
    }

    @Override
    public String toString() {
        return name + " (pid " + pid() + ")";
    }
}
