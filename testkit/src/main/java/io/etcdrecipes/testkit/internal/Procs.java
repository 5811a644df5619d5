package io.etcdrecipes.testkit.internal;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * Small helpers around Linux processes: start times from {@code /proc}, signals through {@code kill},
 * running short external commands with a bounded wait. Not public API.
 */
public final class Procs {
    private Procs() {}

    /**
     * The start time of a process in clock ticks since boot (field 22 of {@code /proc/PID/stat}),
     * which together with the pid identifies a process even when the pid is reused.
     */
    public static OptionalLong startTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.ISO_8859_1);
            // "pid (comm) state ppid ..." -- comm may hold spaces and parentheses, so cut after the last ')'.
            int close = stat.lastIndexOf(')');
            if (close < 0) return OptionalLong.empty();
            String[] fields = stat.substring(close + 2).trim().split(" ");
            // fields[0] is field 3 (state), so field 22 (starttime) is fields[19].
            return fields.length > 19 ? OptionalLong.of(Long.parseLong(fields[19])) : OptionalLong.empty();
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /** True if a process with this pid exists and started at {@code startTicks} (so it is the same process). */
    public static boolean isSameProcessAlive(long pid, long startTicks) {
        OptionalLong now = startTicks(pid);
        if (now.isEmpty() || now.getAsLong() != startTicks) return false;
        // A zombie has exited; it only waits for its parent to reap it.
        return !isZombie(pid);
    }

    static boolean isZombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.ISO_8859_1);
            int close = stat.lastIndexOf(')');
            return close > 0 && stat.length() > close + 2 && stat.charAt(close + 2) == 'Z';
        } catch (IOException e) {
            return false;
        }
    }

    /** The effective uid of this JVM, from {@code /proc/self/status}; -1 if unknown. */
    public static int currentUid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.ISO_8859_1)) {
                if (line.startsWith("Uid:")) {
                    String[] parts = line.substring(4).trim().split("\\s+");
                    return Integer.parseInt(parts[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return -1;
    }

    /** Finds an executable on PATH (or at an absolute path). */
    public static Optional<Path> which(String name) {
        if (name.contains("/")) {
            Path p = Path.of(name);
            return Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
        }
        String path = System.getenv("PATH");
        List<String> dirs = new ArrayList<>();
        if (path != null) dirs.addAll(List.of(path.split(File.pathSeparator)));
        // root's PATH under some runners lacks the sbin dirs, where iptables lives.
        dirs.addAll(List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"));
        for (String dir : dirs) {
            if (dir.isEmpty()) continue;
            Path p = Path.of(dir, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    /** Sends a signal ("STOP", "CONT", "KILL", "TERM") with {@code kill}; true if it was delivered. */
    public static boolean signal(long pid, String signal) {
        return run(Duration.ofSeconds(5), "kill", "-" + signal, Long.toString(pid)).exitCode() == 0;
    }

    /** The outcome of an external command. */
    public record Result(int exitCode, String output) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    /** Runs a command, output and error merged, bounded by {@code timeout} (exit code -1 on timeout or failure to start). */
    public static Result run(Duration timeout, String... command) {
        return run(timeout, List.of(command));
    }

    public static Result run(Duration timeout, List<String> command) {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        } catch (IOException e) {
            return new Result(-1, e.toString());
        }
        // Output of these commands is tiny; a daemon thread drains it so the wait below stays bounded.
        java.util.concurrent.CompletableFuture<String> output = new java.util.concurrent.CompletableFuture<>();
        Process started = p;
        Thread reader = new Thread(() -> {
            try {
                output.complete(new String(started.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim());
            } catch (IOException e) {
                output.complete(e.toString());
            }
        }, "etcd-testkit-cmd-output");
        reader.setDaemon(true);
        reader.start();
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out after " + timeout + ": " + String.join(" ", command));
            }
            String out;
            try {
                out = output.get(2, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                out = "";
            }
            return new Result(p.exitValue(), out);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }
}
