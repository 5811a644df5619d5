package io.etcdrecipes.testkit.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;

/** Plain HTTP/1.1 GETs against an etcd member's client port ({@code /health}, {@code /metrics}). Not public API. */
public final class Http {
    private Http() {}

    // HTTP/1.1 only: etcd multiplexes gRPC (h2c) and HTTP/1 on the client port; no h2c upgrade dance.
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(1))
            .build();

    /** The plain HTTP client of the probes. */
    public static HttpClient plain() {
        return CLIENT;
    }

    /**
     * An HTTPS client that trusts the CA in {@code caFile} and, when {@code clientCertFile} is set, presents that
     * certificate with its PKCS#8 key ({@code -----BEGIN PRIVATE KEY-----}, RSA or EC). JDK only.
     */
    public static HttpClient tls(Path caFile, Path clientCertFile, Path clientKeyFile) {
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            int i = 0;
            try (InputStream in = Files.newInputStream(caFile)) {
                for (Certificate c : cf.generateCertificates(in)) trust.setCertificateEntry("ca" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            KeyManager[] kms = null;
            if (clientCertFile != null) {
                Certificate[] chain;
                try (InputStream in = Files.newInputStream(clientCertFile)) {
                    chain = cf.generateCertificates(in).toArray(new Certificate[0]);
                }
                char[] pw = "testkit".toCharArray();
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                ks.setKeyEntry("client", pkcs8(clientKeyFile), pw, chain);
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, pw);
                kms = kmf.getKeyManagers();
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kms, tmf.getTrustManagers(), null);
            return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(1))
                    .sslContext(ctx).build();
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot set up TLS for the testkit's probes: " + e, e);
        }
    }

    private static PrivateKey pkcs8(Path file) throws IOException, GeneralSecurityException {
        String pem = Files.readString(file);
        if (!pem.contains("-----BEGIN PRIVATE KEY-----")) {
            throw new IllegalArgumentException(file + " is not a PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----)");
        }
        String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64));
        GeneralSecurityException last = null;
        for (String alg : new String[] {"EC", "RSA", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw last;
    }

    /** The body of a 200 response, or empty on any other status, error or timeout. */
    public static Optional<String> get(String url, Duration timeout) {
        return get(url, CLIENT, timeout);
    }

    /** As {@link #get(String, Duration)}, with this client (plain or TLS). */
    public static Optional<String> get(String url, HttpClient client, Duration timeout) {
        try {
            return Optional.ofNullable(getOnce(url, client, timeout));
        } catch (java.net.http.HttpTimeoutException e) {
            return Optional.empty();
        } catch (IOException e) {
            // Perhaps a pooled keep-alive connection the member closed (restart): one more try on a fresh one.
            try {
                return Optional.ofNullable(getOnce(url, client, timeout));
            } catch (IOException again) {
                return Optional.empty();
            }
        }
    }

    private static String getOnce(String url, HttpClient client, Duration timeout) throws IOException {
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(timeout).GET().build();
            HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? response.body() : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** True if {@code GET /health} answers {@code "health":"true"}. */
    public static boolean healthy(int clientPort, Duration timeout) {
        return healthy("http://127.0.0.1:" + clientPort, CLIENT, timeout);
    }

    /** True if {@code GET endpoint/health} answers {@code "health":"true"}. */
    public static boolean healthy(String endpoint, HttpClient client, Duration timeout) {
        return get(endpoint + "/health", client, timeout)
                .map(body -> body.replace(" ", "").contains("\"health\":\"true\""))
                .orElse(false);
    }

    /** True if {@code GET /metrics} reports {@code etcd_server_is_leader 1}. */
    public static boolean isLeader(int clientPort, Duration timeout) {
        return isLeader("http://127.0.0.1:" + clientPort, CLIENT, timeout);
    }

    /** True if {@code GET endpoint/metrics} reports {@code etcd_server_is_leader 1}. */
    public static boolean isLeader(String endpoint, HttpClient client, Duration timeout) {
        return get(endpoint + "/metrics", client, timeout)
                .map(body -> body.lines().anyMatch(l -> l.trim().equals("etcd_server_is_leader 1")))
                .orElse(false);
    }
}
