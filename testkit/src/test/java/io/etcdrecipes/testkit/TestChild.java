package io.etcdrecipes.testkit;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * Run in a child JVM by {@link ChildJvmTest} and {@link HistoryTest}: prints {@code READY <pid>}, then obeys one
 * command per stdin line and exits when stdin ends.
 */
public final class TestChild {
    private TestChild() {}

    public static void main(String[] args) throws Exception {
        System.out.println("READY " + ProcessHandle.current().pid());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            String[] cmd = line.split(" ", 2);
            String arg = cmd.length > 1 ? cmd[1] : "";
            switch (cmd[0]) {
                case "echo" -> System.out.println(arg);
                case "err" -> System.err.println(arg);
                case "nanos" -> System.out.println("NANOS " + System.nanoTime());
                case "exit" -> System.exit(Integer.parseInt(arg));
                case "sleep-child" -> {
                    // a plain process this JVM starts and leaves running
                    Process p = new ProcessBuilder("sleep", "300").start();
                    System.out.println("SPAWNED " + p.pid());
                }
                case "grandchild" -> {
                    // a child JVM of our own, through the testkit, never closed here
                    ChildJvm g = ChildJvm.start(TestChild.class);
                    g.awaitLine("READY", Timing.seconds(30));
                    System.out.println("GRANDCHILD " + g.pid());
                }
                default -> System.out.println("UNKNOWN " + line);
            }
            System.out.flush();
        }
    }
}
