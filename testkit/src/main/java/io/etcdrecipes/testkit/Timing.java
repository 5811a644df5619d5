package io.etcdrecipes.testkit;

import java.time.Duration;

/**
 * One time-scale factor for every wait in our tests (the idea of Curator's {@code Timing}): on a slow or loaded
 * machine, run the suite with a factor above 1 and every bounded wait grows with it, instead of each test
 * inventing its own slack.
 *
 * <p>The factor comes from the system property {@value #PROPERTY}, else the environment variable {@value #ENV},
 * else 1. A blank value counts as unset (the root pom passes the property to every test JVM, empty unless given
 * with {@code -Detcdrecipes.test.timing=3}). It must be a number above 0; anything else fails with an
 * {@link IllegalArgumentException} that says where the bad value came from.
 *
 * <pre>{@code
 * await().atMost(Timing.seconds(10)).until(...);
 * lock.tryLock(Timing.scaled(ttl.plusSeconds(1)));
 * }</pre>
 *
 * Scale waits (how long to wait for something to happen), never the durations a test sets up (a lease TTL, a
 * proxy latency) or asserts (an upper bound on how fast something happened): those mean what they say.
 */
public final class Timing {
    /** The system property that holds the factor. */
    public static final String PROPERTY = "etcdrecipes.test.timing";
    /** The environment variable that holds the factor when the system property is unset. */
    public static final String ENV = "ETCD_RECIPES_TEST_TIMING";

    private Timing() {}

    /** The factor every wait is multiplied by (read each time, so a test can set the property). */
    public static double factor() {
        String property = System.getProperty(PROPERTY);
        if (property != null && !property.isBlank()) return parse(property, "system property " + PROPERTY);
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) return parse(env, "environment variable " + ENV);
        return 1.0;
    }

    static double parse(String value, String source) {
        double factor;
        try {
            factor = Double.parseDouble(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(source + " must be a number > 0 (a time-scale factor), was '" + value + "'", e);
        }
        if (!(factor > 0) || Double.isInfinite(factor)) {
            throw new IllegalArgumentException(source + " must be a number > 0 (a time-scale factor), was '" + value + "'");
        }
        return factor;
    }

    /** {@code d} times the factor, rounded up to the nanosecond. */
    public static Duration scaled(Duration d) {
        return scale(d, factor());
    }

    static Duration scale(Duration d, double factor) {
        if (d.isNegative()) throw new IllegalArgumentException("negative duration " + d);
        return Duration.ofNanos((long) Math.ceil(d.toNanos() * factor));
    }

    /** {@code seconds} seconds, scaled. */
    public static Duration seconds(long seconds) {
        return scaled(Duration.ofSeconds(seconds));
    }

    /** {@code millis} milliseconds, scaled. */
    public static Duration millis(long millis) {
        return scaled(Duration.ofMillis(millis));
    }
}
