package io.etcdrecipes.naming;

import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.KeepAliveListener;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A tiny gRPC server for the naming tests, run as its own process: it answers "Echo" with its name and
 * registers its address under the service with a lease it keeps alive, so killing the process lets the
 * registration expire. Args: name, service target, etcd endpoints, lease TTL seconds.
 */
public final class EchoServer {

  static final MethodDescriptor.Marshaller<String> STRING = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  static final MethodDescriptor<String, String> ECHO = MethodDescriptor.<String, String>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName("test.Echo/Echo")
      .setRequestMarshaller(STRING)
      .setResponseMarshaller(STRING)
      .build();

  private EchoServer() {}

  public static void main(String[] args) throws Exception {
    String name = args[0];
    String target = args[1];
    String endpoints = args[2];
    long ttl = Long.parseLong(args[3]);
    ServerServiceDefinition service = ServerServiceDefinition.builder("test.Echo")
        .addMethod(ECHO, ServerCalls.asyncUnaryCall((req, out) -> {
          out.onNext(name);
          out.onCompleted();
        }))
        .build();
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(service).build().start();
    EtcdClient client = EtcdClient.builder().endpoints(endpoints).build();
    long lease = client.lease().grant(ttl).join().id();
    client.lease().keepAlive(lease, new KeepAliveListener() {
      @Override
      public void onLost(EtcdException cause) {
        System.out.println("LOST " + cause);
      }
    });
    String addr = "127.0.0.1:" + server.getPort();
    new EndpointManager(client, target).addEndpoint(target + "/" + addr, Endpoint.of(addr), lease).join();
    System.out.println("READY " + addr);
    System.out.flush();
    server.awaitTermination();
  }
}
