package io.etcdrecipes.client;

import java.nio.file.Path;

/**
 * TLS for the client's connections: the CA that signs the servers' certificates (or {@code null} for the
 * JVM's trust store), an optional client certificate and PKCS#8 key for client-certificate auth, an
 * optional server-name override, and, for tests only, skipping server verification.
 */
public record TlsConfig(Path trustedCa, Path certChain, Path privateKey, String authorityOverride,
                        boolean insecureSkipVerify) {

  public static TlsConfig trusting(Path trustedCa) {
    return new TlsConfig(trustedCa, null, null, null, false);
  }

  public TlsConfig withClientCertificate(Path certChain, Path privateKey) {
    return new TlsConfig(trustedCa, certChain, privateKey, authorityOverride, insecureSkipVerify);
  }

  public TlsConfig withAuthority(String authority) {
    return new TlsConfig(trustedCa, certChain, privateKey, authority, insecureSkipVerify);
  }
}
