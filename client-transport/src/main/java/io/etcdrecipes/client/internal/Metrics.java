package io.etcdrecipes.client.internal;

import io.etcdrecipes.client.EtcdException;
import io.grpc.MethodDescriptor;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Micrometer meters of a client: a timer per RPC method and outcome ({@code etcd.client.calls}, tags
 * {@code method}, {@code status}), and gauges for open watches and kept-alive leases. Only loaded when the
 * user gave a registry, so Micrometer stays an optional dependency.
 */
public final class Metrics {

  private final MeterRegistry registry;
  private final ConcurrentHashMap<String, Timer> timers = new ConcurrentHashMap<>();

  private Metrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /** {@code registry} must be a Micrometer {@code MeterRegistry}; {@code null} gives no metrics. */
  public static Metrics of(Object registry) {
    if (registry == null) {
      return null;
    }
    if (!(registry instanceof MeterRegistry)) {
      throw new IllegalArgumentException("not a Micrometer MeterRegistry: " + registry.getClass().getName());
    }
    return new Metrics((MeterRegistry) registry);
  }

  void record(MethodDescriptor<?, ?> method, Throwable failure, long nanos) {
    String status = "OK";
    if (failure != null) {
      EtcdException e = Errors.toEtcdException(failure);
      status = e.code().name();
    }
    String key = method.getFullMethodName() + '|' + status;
    String st = status;
    timers.computeIfAbsent(key, k -> Timer.builder("etcd.client.calls")
            .description("etcd RPCs by method and status")
            .tag("method", method.getBareMethodName())
            .tag("service", method.getServiceName() == null ? "" : method.getServiceName())
            .tag("status", st)
            .register(registry))
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Registers a gauge such as open watches or kept-alive leases. */
  public void gauge(String name, String description, Supplier<Number> value) {
    Gauge.builder(name, value).description(description).register(registry);
  }
}
