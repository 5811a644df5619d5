package io.etcdrecipes.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a test class or method that isolates etcd members ({@link EtcdMember#isolate()}: root, {@code setpriv} and a
 * working {@code iptables}). Where isolation cannot work the test <em>fails</em> with the reason, so it never passes
 * by being skipped silently — unless the environment variable (or system property)
 * {@value IsolationRequirement#SKIP_VARIABLE}{@code =1} says to skip such tests, and then it is skipped and, when
 * {@value IsolationRequirement#REPORT_VARIABLE} names a file, listed there ({@code ./test.sh} prints that list in a
 * banner). See {@link IsolationRequirement}.
 *
 * <pre>{@code
 * @NeedsIsolation
 * class PartitionedWaitTest { ... }
 * }</pre>
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
@ExtendWith(IsolationRequirement.class)
public @interface NeedsIsolation {}
