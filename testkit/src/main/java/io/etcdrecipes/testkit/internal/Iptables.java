package io.etcdrecipes.testkit.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Thin wrapper around the {@code iptables} command for the per-cluster isolation chain. Not public API. */
public final class Iptables {
    private Iptables() {}

    private static final Duration TIMEOUT = Duration.ofSeconds(15);

    public static Optional<String> binary() {
        return Procs.which("iptables").map(Object::toString);
    }

    /** Runs {@code iptables -w 10 ARGS...}; throws with the command's output when it fails. */
    public static void exec(String... args) {
        Procs.Result r = tryExec(args);
        if (!r.ok()) {
            throw new IllegalStateException("iptables " + String.join(" ", args) + " failed (exit " + r.exitCode() + "): " + r.output());
        }
    }

    public static Procs.Result tryExec(String... args) {
        String bin = binary().orElseThrow(() -> new IllegalStateException("iptables not found"));
        List<String> cmd = new ArrayList<>();
        cmd.add(bin);
        cmd.add("-w");
        cmd.add("10");
        cmd.addAll(List.of(args));
        return Procs.run(TIMEOUT, cmd);
    }

    public static boolean chainExists(String chain) {
        return binary().isPresent() && tryExec("-S", chain).ok();
    }

    /** Creates the chain and jumps to it from OUTPUT for loopback traffic. */
    public static void createChain(String chain) {
        exec("-N", chain);
        exec("-I", "OUTPUT", "1", "-o", "lo", "-j", chain);
    }

    /** Removes the jump from OUTPUT, flushes and deletes the chain; ignores what does not exist. */
    public static void removeChain(String chain) {
        if (!isOurChainName(chain) || binary().isEmpty()) return;
        // The jump may have been inserted more than once if something went wrong; remove all of them.
        for (int i = 0; i < 5 && tryExec("-D", "OUTPUT", "-o", "lo", "-j", chain).ok(); i++) {
            // keep deleting
        }
        tryExec("-F", chain);
        tryExec("-X", chain);
    }

    public static boolean isOurChainName(String chain) {
        return chain != null && chain.matches("ETCDRT-[0-9a-f]{8}");
    }
}
