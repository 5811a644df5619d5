package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TimingTest {
    private final String before = System.getProperty(Timing.PROPERTY);

    @AfterEach
    void restore() {
        if (before == null) System.clearProperty(Timing.PROPERTY);
        else System.setProperty(Timing.PROPERTY, before);
    }

    @Test
    void theSystemPropertyScalesEveryWait() {
        System.setProperty(Timing.PROPERTY, "2.5");
        assertThat(Timing.factor()).isEqualTo(2.5);
        assertThat(Timing.seconds(10)).isEqualTo(Duration.ofSeconds(25));
        assertThat(Timing.millis(100)).isEqualTo(Duration.ofMillis(250));
        assertThat(Timing.scaled(Duration.ofNanos(3))).isEqualTo(Duration.ofNanos(8)); // rounded up
    }

    @Test
    void aBlankPropertyCountsAsUnset() {
        // the root pom passes the property to every test JVM, empty unless given on the command line
        System.setProperty(Timing.PROPERTY, " ");
        double fromEnv = System.getenv(Timing.ENV) == null || System.getenv(Timing.ENV).isBlank()
                ? 1.0 : Double.parseDouble(System.getenv(Timing.ENV).trim());
        assertThat(Timing.factor()).isEqualTo(fromEnv);
    }

    @Test
    void aFactorThatIsNotAPositiveNumberIsAClearError() {
        for (String bad : new String[] {"0", "-1", "abc", "NaN", "Infinity"}) {
            System.setProperty(Timing.PROPERTY, bad);
            assertThatThrownBy(Timing::factor).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("system property " + Timing.PROPERTY)
                    .hasMessageContaining("> 0")
                    .hasMessageContaining("'" + bad + "'");
        }
        assertThatThrownBy(() -> Timing.parse("x", "environment variable " + Timing.ENV))
                .hasMessageContaining("environment variable ETCD_RECIPES_TEST_TIMING");
    }

    @Test
    void scalingByOneChangesNothing() {
        assertThat(Timing.scale(Duration.ofMillis(1234), 1.0)).isEqualTo(Duration.ofMillis(1234));
        assertThat(Timing.scale(Duration.ZERO, 3.0)).isEqualTo(Duration.ZERO);
        assertThatThrownBy(() -> Timing.scale(Duration.ofSeconds(-1), 1.0)).isInstanceOf(IllegalArgumentException.class);
    }
}
