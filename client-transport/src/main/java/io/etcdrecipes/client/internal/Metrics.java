package io.etcdrecipes.client.internal;

import io.etcdrecipes.client.ClientMetrics;
import io.etcdrecipes.client.ErrorCode;
import io.grpc.MethodDescriptor;

import java.util.function.Supplier;

/** Hands the client's measurements to the user's {@link ClientMetrics}, in its terms (no gRPC types). */
public final class Metrics {

  private final ClientMetrics sink;

  private Metrics(ClientMetrics sink) {
    this.sink = sink;
  }

  /** {@code null} (no metrics) for a {@code null} sink. */
  public static Metrics of(ClientMetrics sink) {
    return sink == null ? null : new Metrics(sink);
  }

  void record(MethodDescriptor<?, ?> method, Throwable failure, long nanos) {
    ErrorCode code = failure == null ? ErrorCode.OK : Errors.toEtcdException(failure).code();
    String service = method.getServiceName() == null ? "" : method.getServiceName();
    sink.callEnded(service, method.getBareMethodName(), code, nanos);
  }

  /** Registers a gauge such as open watches or kept-alive leases. */
  public void gauge(String name, String description, Supplier<Number> value) {
    sink.gauge(name, description, value);
  }
}
