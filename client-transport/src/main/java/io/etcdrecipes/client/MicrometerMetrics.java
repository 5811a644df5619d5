package io.etcdrecipes.client;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * {@link ClientMetrics} into a Micrometer {@link MeterRegistry}: a timer {@code etcd.client.calls} per RPC and
 * outcome (tags {@code service}, {@code method}, {@code status}), and the client's gauges. Micrometer is an optional
 * dependency of the client: only code that uses this class needs it on the classpath.
 *
 * <pre>{@code
 * EtcdClient client = EtcdClient.builder().endpoints(...).metrics(new MicrometerMetrics(registry)).build();
 * }</pre>
 */
public final class MicrometerMetrics implements ClientMetrics {

  private final MeterRegistry registry;
  private final ConcurrentHashMap<String, Timer> timers = new ConcurrentHashMap<>();

  public MicrometerMetrics(MeterRegistry registry) {
    this.registry = Objects.requireNonNull(registry, "registry");
  }

  @Override
  public void callEnded(String service, String method, ErrorCode code, long nanos) {
    timers.computeIfAbsent(service + '/' + method + '|' + code, k -> Timer.builder("etcd.client.calls")
            .description("etcd RPCs by method and status")
            .tag("method", method)
            .tag("service", service)
            .tag("status", code.name())
            .register(registry))
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void gauge(String name, String description, Supplier<Number> value) {
    Gauge.builder(name, value).description(description).register(registry);
  }
}
