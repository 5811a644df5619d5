package io.etcdrecipes.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcdrecipes.testkit.Futures;
import io.etcdrecipes.testkit.EtcdClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** TLS with client-certificate auth against a real member: the right certificates work, wrong ones fail in time. */
class TlsTest {

  static final TestCerts certs = TestCerts.generate();

  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true)
      .clientTls(certs.ca(), certs.serverCert(), certs.serverKey())
      .clientCertAuth(certs.clientCert(), certs.clientKey())
      .build();

  @AfterAll
  static void deleteCerts() {
    certs.delete();
  }

  @Test
  void putAndGetOverMutualTls() throws Exception {
    assertThat(etcd.endpoints()).startsWith("https://127.0.0.1:");
    try (EtcdClient client = EtcdClient.builder().endpoints(etcd.endpoints())
        .tls(TlsConfig.trusting(certs.ca()).withClientCertificate(certs.clientCert(), certs.clientKey()))
        .build()) {
      client.kv().put("tls/k", "secure").get(10, TimeUnit.SECONDS);
      assertThat(client.kv().get("tls/k").get(10, TimeUnit.SECONDS).kvs().get(0).value().toString())
          .isEqualTo("secure");
      assertThat(client.maintenance().status(client.endpoints().get(0)).get(10, TimeUnit.SECONDS).version())
          .isEqualTo(etcd.cluster().version().toString());
    }
  }

  @Test
  void pemMaterialFromStreamsAndAServerNameOverride() throws Exception {
    TlsConfig tls;
    try (var ca = java.nio.file.Files.newInputStream(certs.ca());
         var cert = java.nio.file.Files.newInputStream(certs.clientCert());
         var key = java.nio.file.Files.newInputStream(certs.clientKey())) {
      // the server certificate names localhost and 127.0.0.1; the override must be one of them
      tls = TlsConfig.trusting(ca).withClientCertificate(cert, key).withAuthority("localhost");
    }
    assertThat(tls.toString()).contains("from a stream").doesNotContain("PRIVATE KEY");
    try (EtcdClient client = EtcdClient.builder().endpoints(etcd.endpoints()).tls(tls).build()) {
      client.kv().put("tls/s", "streams").get(10, TimeUnit.SECONDS);
      assertThat(client.kv().get("tls/s").get(10, TimeUnit.SECONDS).first().value().toStringUtf8()).isEqualTo("streams");
    }
  }

  @Test
  void aServerNameTheCertificateDoesNotHoldIsRefused() {
    try (EtcdClient client = EtcdClient.builder().endpoints(etcd.endpoints()).callTimeout(Duration.ofSeconds(2))
        .tls(TlsConfig.trusting(certs.ca()).withClientCertificate(certs.clientCert(), certs.clientKey())
            .withAuthority("not-etcd.example"))
        .build()) {
      assertThat(Futures.failure(client.kv().get("tls/k"))).isInstanceOf(UnavailableException.class);
    }
  }

  @Test
  void wrongCaFailsAtTheDeadline() {
    try (EtcdClient client = EtcdClient.builder().endpoints(etcd.endpoints())
        .callTimeout(Duration.ofSeconds(2))
        .tls(TlsConfig.trusting(certs.otherCa()).withClientCertificate(certs.clientCert(), certs.clientKey()))
        .build()) {
      long t0 = System.nanoTime();
      Throwable t = Futures.failure(client.kv().get("tls/k"));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      // The handshake fails on every attempt (UNAVAILABLE) and the call is retried until the deadline; the
      // caller then sees the handshake's failure, not a bare deadline.
      assertThat(t).isInstanceOf(UnavailableException.class).hasMessageContaining("unable to find valid certification path");
      assertThat(ms).isBetween(1_500L, 6_000L);
    }
  }

  @Test
  void missingClientCertificateFailsAtTheDeadline() {
    try (EtcdClient client = EtcdClient.builder().endpoints(etcd.endpoints())
        .callTimeout(Duration.ofSeconds(2))
        .tls(TlsConfig.trusting(certs.ca()))
        .build()) {
      long t0 = System.nanoTime();
      Throwable t = Futures.failure(client.kv().get("tls/k"));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertThat(t).hasMessageContaining("ssl exception");
      assertThat(t).isInstanceOfAny(UnavailableException.class, DeadlineExceededException.class);
      assertThat(ms).isBetween(1_500L, 6_000L);
    }
  }
}
