package io.etcdrecipes.testkit;

import io.etcdrecipes.testkit.internal.Procs;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * etcd's own command-line client as a reference peer in tests: one-shot commands ({@link #run}, {@link #keys},
 * {@link #count}) and long-running ones ({@link #start}: {@code lock NAME [CMD...]}, {@code elect NAME PROPOSAL},
 * {@code elect -l NAME}, {@code watch ...}) whose output a test reads line by line.
 *
 * <pre>{@code
 * Etcdctl etcdctl = new Etcdctl(cluster.endpoints());
 * assertThat(etcdctl.keys("app/", "--prefix")).containsExactly("app/a", "app/b");
 * try (ChildProcess holder = etcdctl.start("lock", "locks/x")) {
 *     String key = holder.awaitLine(Timing.seconds(10));   // etcdctl prints its key once it holds the lock
 *     ...
 *     holder.interrupt();                                 // Ctrl-C: it unlocks and exits
 *     assertThat(holder.awaitExit(Timing.seconds(10))).isZero();
 * }
 * }</pre>
 *
 * The binary is {@code $ETCD_RECIPES_ETCDCTL}, else {@code etcdctl} on {@code PATH} (Debian/Ubuntu: {@code apt-get
 * install etcd-client}); it runs with {@code ETCDCTL_API=3}. Failures are test failures ({@link AssertionError}).
 */
public final class Etcdctl {
    /** The environment variable naming the etcdctl binary to use instead of the one on {@code PATH}. */
    public static final String BINARY_ENV = "ETCD_RECIPES_ETCDCTL";

    private static final Pattern KEY = Pattern.compile("\"key\":\"([^\"]*)\"");
    private static final Pattern COUNT = Pattern.compile("\"count\":(\\d+)");

    private final String endpoints;
    private final List<String> flags;

    /** etcdctl against {@code endpoints}, comma-separated ({@link EtcdCluster#endpoints()}). */
    public Etcdctl(String endpoints) {
        this(endpoints, List.of());
    }

    private Etcdctl(String endpoints, List<String> flags) {
        this.endpoints = Objects.requireNonNull(endpoints, "endpoints");
        this.flags = flags;
    }

    /** The same etcdctl with more global flags before every command ({@code "--user", "root:pw"}, {@code "--cacert", path}). */
    public Etcdctl withFlags(String... more) {
        List<String> all = new ArrayList<>(flags);
        all.addAll(List.of(more));
        return new Etcdctl(endpoints, List.copyOf(all));
    }

    /** The binary: {@code $ETCD_RECIPES_ETCDCTL}, else {@code etcdctl} on {@code PATH}. */
    public static Path binary() {
        String env = System.getenv(BINARY_ENV);
        if (env != null && !env.isBlank()) {
            return Procs.which(env).orElseThrow(() -> new IllegalStateException(
                    BINARY_ENV + "=" + env + " does not exist or is not executable"));
        }
        return Procs.which("etcdctl").orElseThrow(() -> new IllegalStateException(
                "no etcdctl binary: set " + BINARY_ENV + " or put etcdctl on PATH (Debian/Ubuntu: apt-get install etcd-client)"));
    }

    private List<String> command(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(binary().toString());
        cmd.add("--endpoints=" + endpoints);
        cmd.addAll(flags);
        cmd.addAll(args);
        return cmd;
    }

    private static Map<String, String> env() {
        return Map.of("ETCDCTL_API", "3");
    }

    // ------------------------------------------------------------------ one-shot commands

    /**
     * The output (stdout and stderr together) of {@code etcdctl ARGS}, which must exit 0 within
     * {@code Timing.seconds(20)}; each request it makes has {@code --command-timeout} of {@code Timing.seconds(10)}.
     */
    public String run(String... args) {
        return run(Timing.seconds(20), args);
    }

    /** {@link #run(String...)} bounded by {@code timeout}. */
    public String run(Duration timeout, String... args) {
        List<String> full = new ArrayList<>();
        full.add("--command-timeout=" + Math.max(1, Timing.seconds(10).toMillis()) + "ms");
        full.addAll(List.of(args));
        List<String> cmd = command(full);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().putAll(env());
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new AssertionError("cannot run " + cmd + ": " + e.getMessage(), e);
        }
        // read on another thread so the wait below stays bounded even if etcdctl hangs with its pipe open
        CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        });
        try {
            if (!p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                throw new AssertionError("etcdctl did not finish within " + timeout.toMillis() + " ms: "
                        + String.join(" ", cmd) + "\n" + output.getNow(""));
            }
            String text = output.get(5, TimeUnit.SECONDS);
            if (p.exitValue() != 0) {
                throw new AssertionError("etcdctl failed (exit " + p.exitValue() + "): " + String.join(" ", cmd) + "\n" + text);
            }
            return text;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running " + cmd, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new AssertionError("cannot read the output of " + cmd, e);
        }
    }

    /** The keys {@code etcdctl get -w json ARGS} returns, in its order ({@code keys("app/", "--prefix")}). */
    public List<String> keys(String... getArgs) {
        Matcher m = KEY.matcher(run(getJson(getArgs)));
        List<String> keys = new ArrayList<>();
        while (m.find()) keys.add(new String(Base64.getDecoder().decode(m.group(1)), StandardCharsets.UTF_8));
        return keys;
    }

    /** The {@code count} {@code etcdctl get -w json ARGS} reports (0 when it reports none). */
    public long count(String... getArgs) {
        Matcher m = COUNT.matcher(run(getJson(getArgs)));
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    private static String[] getJson(String... getArgs) {
        List<String> full = new ArrayList<>(List.of("get", "-w", "json"));
        full.addAll(List.of(getArgs));
        return full.toArray(new String[0]);
    }

    // ------------------------------------------------------------------ long-running peers

    /**
     * Starts {@code etcdctl ARGS} and returns at once; its stdout is read line by line ({@link ChildProcess#awaitLine}).
     * Its stdin is closed. Close it (try-with-resources) to kill it; it never outlives the test JVM.
     */
    public ChildProcess start(String... args) {
        List<String> cmd = command(List.of(args));
        Process p = ChildProcess.startProcess(cmd, env());
        try {
            p.getOutputStream().close();
        } catch (IOException e) {
            // nothing to close
        }
        return new ChildProcess("etcdctl " + String.join(" ", args), p);
    }

    @Override
    public String toString() {
        return "etcdctl --endpoints=" + endpoints + (flags.isEmpty() ? "" : " " + String.join(" ", flags));
    }
}
