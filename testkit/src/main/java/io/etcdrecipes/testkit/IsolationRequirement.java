package io.etcdrecipes.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.opentest4j.TestAbortedException;

/**
 * What {@link NeedsIsolation} does before each test: nothing where members can be isolated
 * ({@link EtcdCluster#isolationUnavailableReason()} is empty); else it fails the test with the reason, or, when
 * {@value #SKIP_VARIABLE}{@code =1} is set (environment variable or system property), skips it and appends
 * {@code Class#method: reason} to the file named by {@value #REPORT_VARIABLE}, if any. {@link #check(String)} does the
 * same for a test that decides inside its body.
 */
public final class IsolationRequirement implements BeforeEachCallback {
    /** Set to {@code 1} to skip (instead of fail) the tests that need isolation where it cannot work. */
    public static final String SKIP_VARIABLE = "ETCD_RECIPES_SKIP_ROOT_TESTS";
    /** A file to which every test skipped that way is appended, one line each ({@code ./test.sh} sets it). */
    public static final String REPORT_VARIABLE = "ETCD_RECIPES_SKIP_REPORT";

    @Override
    public void beforeEach(ExtensionContext context) {
        check(context.getRequiredTestClass().getName() + "#" + context.getRequiredTestMethod().getName());
    }

    /**
     * Returns when members can be isolated; else throws: an {@link AssertionError} with the reason and how to opt
     * out, or, with {@value #SKIP_VARIABLE}{@code =1}, a {@link TestAbortedException} (the test is skipped) after
     * reporting {@code test}.
     */
    public static void check(String test) {
        check(test, EtcdCluster.isolationUnavailableReason(), IsolationRequirement::setting);
    }

    static void check(String test, Optional<String> why, UnaryOperator<String> settings) {
        if (why.isEmpty()) return;
        if (!"1".equals(settings.apply(SKIP_VARIABLE))) {
            throw new AssertionError(test + " needs to isolate etcd members, which cannot work here: " + why.get()
                    + ". Run the tests as root (with setpriv and a working iptables), or set " + SKIP_VARIABLE
                    + "=1 to skip the tests that need it (./test.sh then lists them)");
        }
        String report = settings.apply(REPORT_VARIABLE);
        if (report != null && !report.isBlank()) {
            try {
                Files.writeString(Path.of(report), test + ": " + why.get() + "\n", StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new IllegalStateException("cannot append to " + REPORT_VARIABLE + " file " + report, e);
            }
        }
        throw new TestAbortedException("skipped (" + SKIP_VARIABLE + "=1): " + why.get());
    }

    private static String setting(String name) {
        String property = System.getProperty(name);
        return property != null && !property.isBlank() ? property : System.getenv(name);
    }
}
