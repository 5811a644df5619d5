package io.etcdrecipes.client;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * TLS for the client's connections: the CA that signs the members' certificates (or the JVM's trust
 * store when none is given), an optional client certificate chain and PKCS#8 private key for
 * client-certificate auth, an optional server-name override, and, for tests only, skipping server
 * verification. PEM material comes from files (read when the client is built) or from streams (read at
 * once, so the caller may close them). Immutable.
 */
public final class TlsConfig {

  private final Pem trustedCa;
  private final Pem certChain;
  private final Pem privateKey;
  private final String authorityOverride;
  private final boolean insecureSkipVerify;

  private TlsConfig(Pem trustedCa, Pem certChain, Pem privateKey, String authorityOverride, boolean insecureSkipVerify) {
    this.trustedCa = trustedCa;
    this.certChain = certChain;
    this.privateKey = privateKey;
    this.authorityOverride = authorityOverride;
    this.insecureSkipVerify = insecureSkipVerify;
  }

  /** Trust members whose certificates the CA in this PEM file signed. */
  public static TlsConfig trusting(Path trustedCa) {
    return new TlsConfig(Pem.of(trustedCa), null, null, null, false);
  }

  /** Trust members whose certificates the CA in this PEM stream signed; the stream is read now. */
  public static TlsConfig trusting(InputStream trustedCa) {
    return new TlsConfig(Pem.of(trustedCa, "trusted CA"), null, null, null, false);
  }

  /** Trust what the JVM's default trust store trusts. */
  public static TlsConfig systemTrust() {
    return new TlsConfig(null, null, null, null, false);
  }

  /** Present this certificate chain and PKCS#8 key (PEM files) to members that ask for client certificates. */
  public TlsConfig withClientCertificate(Path certChain, Path privateKey) {
    return new TlsConfig(trustedCa, Pem.of(certChain), Pem.of(privateKey), authorityOverride, insecureSkipVerify);
  }

  /** The same from PEM streams, read now. */
  public TlsConfig withClientCertificate(InputStream certChain, InputStream privateKey) {
    return new TlsConfig(trustedCa, Pem.of(certChain, "certificate chain"), Pem.of(privateKey, "private key"),
        authorityOverride, insecureSkipVerify);
  }

  /** Check the members' certificates against this name instead of the endpoint's host. */
  public TlsConfig withAuthority(String authority) {
    return new TlsConfig(trustedCa, certChain, privateKey, Objects.requireNonNull(authority, "authority"),
        insecureSkipVerify);
  }

  /** Accept any server certificate. For tests only: it gives up the protection TLS is for. */
  public TlsConfig insecureSkipVerify() {
    return new TlsConfig(trustedCa, certChain, privateKey, authorityOverride, true);
  }

  /** The trusted CA file, when it was given as a file. */
  public Path trustedCa() {
    return trustedCa == null ? null : trustedCa.path;
  }

  public Path certChain() {
    return certChain == null ? null : certChain.path;
  }

  public Path privateKey() {
    return privateKey == null ? null : privateKey.path;
  }

  public String authorityOverride() {
    return authorityOverride;
  }

  public boolean isInsecureSkipVerify() {
    return insecureSkipVerify;
  }

  public boolean hasClientCertificate() {
    return certChain != null;
  }

  /** The trusted CA as PEM, or {@code null} for the JVM's trust store. Reads the file if one was given. */
  public InputStream openTrustedCa() {
    return trustedCa == null ? null : trustedCa.open();
  }

  public InputStream openCertChain() {
    return certChain == null ? null : certChain.open();
  }

  public InputStream openPrivateKey() {
    return privateKey == null ? null : privateKey.open();
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof TlsConfig)) {
      return false;
    }
    TlsConfig t = (TlsConfig) o;
    return Objects.equals(trustedCa, t.trustedCa) && Objects.equals(certChain, t.certChain)
        && Objects.equals(privateKey, t.privateKey) && Objects.equals(authorityOverride, t.authorityOverride)
        && insecureSkipVerify == t.insecureSkipVerify;
  }

  @Override
  public int hashCode() {
    return Objects.hash(trustedCa, certChain, privateKey, authorityOverride, insecureSkipVerify);
  }

  /** Says where the material comes from; never its content (the private key). */
  @Override
  public String toString() {
    return "TlsConfig{trustedCa=" + (trustedCa == null ? "system" : trustedCa) + ", clientCertificate="
        + (certChain == null ? "none" : certChain) + ", authority=" + authorityOverride
        + (insecureSkipVerify ? ", INSECURE skip-verify" : "") + "}";
  }

  /** PEM material from a file (read on use) or from bytes read from a stream. */
  private static final class Pem {
    final Path path;
    final byte[] bytes;
    final String what;

    private Pem(Path path, byte[] bytes, String what) {
      this.path = path;
      this.bytes = bytes;
      this.what = what;
    }

    static Pem of(Path path) {
      return new Pem(Objects.requireNonNull(path, "path"), null, path.toString());
    }

    static Pem of(InputStream in, String what) {
      Objects.requireNonNull(in, what);
      try {
        return new Pem(null, in.readAllBytes(), what + " (from a stream)");
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the " + what + ": " + e.getMessage(), e);
      }
    }

    InputStream open() {
      if (bytes != null) {
        return new ByteArrayInputStream(bytes);
      }
      try {
        return Files.newInputStream(path);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read TLS file " + path + ": " + e.getMessage(), e);
      }
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Pem && Objects.equals(path, ((Pem) o).path)
          && java.util.Arrays.equals(bytes, ((Pem) o).bytes);
    }

    @Override
    public int hashCode() {
      return Objects.hash(path, java.util.Arrays.hashCode(bytes));
    }

    @Override
    public String toString() {
      return what;
    }
  }
}
