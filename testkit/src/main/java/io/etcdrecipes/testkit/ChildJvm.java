package io.etcdrecipes.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Java main class run in a child JVM with the test's classpath: the process a test can SIGKILL or SIGSTOP while
 * it holds a lock, leads an election or owns a session. A line protocol on stdin and stdout is the usual way to
 * drive it.
 *
 * <pre>{@code
 * try (ChildJvm holder = ChildJvm.start(LockHolder.class, etcd.endpoints(), "locks/x")) {
 *     String token = holder.awaitLine("HOLDING ", Timing.seconds(30)).substring(8);
 *     holder.pause();          // SIGSTOP: its session stops being kept alive
 *     ...
 *     holder.kill();           // SIGKILL
 * }
 * }</pre>
 *
 * The child runs {@code $JAVA_HOME/bin/java} of this JVM with {@code -cp} the test classpath (Surefire's
 * {@code surefire.test.class.path} when set, else {@code java.class.path}), {@code -Xmx128m -XX:+UseSerialGC}
 * unless the builder says otherwise, and this JVM's {@link Timing} factor. Everything {@link ChildProcess} says about
 * output, signals and cleanup applies.
 */
public final class ChildJvm extends ChildProcess {

    private ChildJvm(String name, Process process) {
        super(name, process);
    }

    /** Starts {@code mainClass} with {@code args} and the default options; returns at once. */
    public static ChildJvm start(Class<?> mainClass, String... args) {
        return builder(mainClass).args(args).start();
    }

    public static Builder builder(Class<?> mainClass) {
        return new Builder(mainClass);
    }

    /** Writes {@code line} and a newline to the child's stdin, flushed. */
    public void send(String line) {
        OutputStream in = process().getOutputStream();
        try {
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write to the stdin of " + this + (isAlive() ? "" : ": it has exited"), e);
        }
    }

    /** Closes the child's stdin (it reads end of input). */
    public void closeInput() {
        try {
            process().getOutputStream().close();
        } catch (IOException e) {
            // already closed
        }
    }

    /** How to start a child JVM. */
    public static final class Builder {
        private final Class<?> mainClass;
        private final List<String> args = new ArrayList<>();
        private final List<String> jvmArgs = new ArrayList<>();
        private String maxHeap = "128m";
        private String name;

        private Builder(Class<?> mainClass) {
            this.mainClass = Objects.requireNonNull(mainClass, "mainClass");
        }

        /** Arguments to {@code main}. */
        public Builder args(String... more) {
            args.addAll(List.of(more));
            return this;
        }

        /** An option for the JVM ({@code "-Dkey=value"}, {@code "-XX:..."}). */
        public Builder jvmArg(String arg) {
            jvmArgs.add(Objects.requireNonNull(arg, "arg"));
            return this;
        }

        /** {@code -Xmx}, default {@code "128m"}. */
        public Builder maxHeap(String size) {
            this.maxHeap = Objects.requireNonNull(size, "size");
            return this;
        }

        /** What the child is called in messages; default the main class's simple name. */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /** Starts the JVM and returns at once (wait for a line it prints when it is ready). */
        public ChildJvm start() {
            String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.add("-Xmx" + maxHeap);
            cmd.add("-XX:+UseSerialGC"); // one GC thread: children share two cores with the test and etcd
            cmd.add("-D" + Timing.PROPERTY + "=" + Timing.factor());
            cmd.addAll(jvmArgs);
            cmd.add("-cp");
            cmd.add(classpath);
            cmd.add(mainClass.getName());
            cmd.addAll(args);
            Process p = ChildProcess.startProcess(cmd, Map.of());
            return new ChildJvm(name != null ? name : mainClass.getSimpleName(), p);
        }
    }
}
