package io.etcdrecipes.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Throw-away PKI for TLS tests, made with the {@code openssl} command: a CA, a server certificate for
 * 127.0.0.1/localhost and a client certificate signed by it, and a second, unrelated CA. P-256 keys in
 * PKCS#8 PEM ({@code -----BEGIN PRIVATE KEY-----}), which is what Netty and etcd read.
 */
final class TestCerts {

  final Path dir;

  private TestCerts(Path dir) {
    this.dir = dir;
  }

  Path ca() {
    return dir.resolve("ca.crt");
  }

  Path serverCert() {
    return dir.resolve("server.crt");
  }

  Path serverKey() {
    return dir.resolve("server.key");
  }

  Path clientCert() {
    return dir.resolve("client.crt");
  }

  Path clientKey() {
    return dir.resolve("client.key");
  }

  /** A CA that signed nothing here. */
  Path otherCa() {
    return dir.resolve("other-ca.crt");
  }

  static TestCerts generate() {
    try {
      Path dir = Files.createTempDirectory("etcd-tls-test");
      TestCerts c = new TestCerts(dir);
      selfSigned(dir, "ca", "etcd-recipes test CA");
      selfSigned(dir, "other-ca", "some other CA");
      Files.writeString(dir.resolve("server.ext"),
          "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
      Files.writeString(dir.resolve("client.ext"), "extendedKeyUsage=clientAuth\n");
      signed(dir, "server", "localhost");
      signed(dir, "client", "etcd-recipes-client");
      return c;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void selfSigned(Path dir, String name, String cn) {
    openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", name + ".key", "-out", name + ".crt", "-days", "2", "-subj", "/CN=" + cn);
  }

  private static void signed(Path dir, String name, String cn) {
    openssl(dir, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn);
    openssl(dir, "x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", name + ".crt", "-days", "2", "-extfile", name + ".ext");
  }

  private static void openssl(Path dir, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
      p.getOutputStream().close();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IllegalStateException("openssl failed: " + cmd + "\n" + new String(out, StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run openssl", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  void delete() {
    try (var files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Files.deleteIfExists(f);
      }
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      // a temp dir; nothing to do
    }
  }
}
