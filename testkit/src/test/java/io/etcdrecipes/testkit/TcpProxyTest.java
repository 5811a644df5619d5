package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class TcpProxyTest {

    @RegisterExtension
    static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(1).unsafeNoFsync(true).build();

    @AfterEach
    void healProxy() {
        etcd.member(0).proxy().heal();
    }

    @Test
    void blackholedProxyTimesOutWhileDirectSucceedsAndHealRestoresIt() throws Exception {
        EtcdMember m = etcd.member(0);
        TcpProxy proxy = m.proxy();
        assertThat(proxy.endpoint()).isEqualTo(m.proxiedEndpoint()).isEqualTo("http://127.0.0.1:" + proxy.port());

        proxy.blackhole();
        assertThatThrownBy(() -> EtcdHttp.health(proxy.endpoint(), Duration.ofMillis(700)))
                .isInstanceOf(HttpTimeoutException.class);
        assertThatThrownBy(() -> EtcdHttp.put(proxy.endpoint(), "k", "through-blackhole"))
                .isInstanceOf(HttpTimeoutException.class);
        assertThat(EtcdHttp.health(m.clientEndpoint(), Duration.ofSeconds(2))).contains("\"health\":\"true\"");
        EtcdHttp.put(m.clientEndpoint(), "k", "direct");

        proxy.heal();
        assertThat(EtcdHttp.health(proxy.endpoint(), Duration.ofSeconds(2))).contains("\"health\":\"true\"");
        assertThat(EtcdHttp.get(proxy.endpoint(), "k", false)).isPresent();
    }

    @Test
    void blackholeStallsExistingConnectionsUntilHealed() throws Exception {
        TcpProxy proxy = etcd.member(0).proxy();
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.setSoTimeout(2000);
            assertThat(roundTrip(s)).startsWith("HTTP/1.1 200");

            proxy.blackhole();
            s.setSoTimeout(500);
            sendHealthRequest(s);
            assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);

            proxy.heal();
            s.setSoTimeout(2000);
            assertThat(readResponse(s.getInputStream())).startsWith("HTTP/1.1 200");
        }
    }

    @Test
    void resetDropsCurrentConnectionsAndKeepsAccepting() throws Exception {
        TcpProxy proxy = etcd.member(0).proxy();
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.setSoTimeout(2000);
            assertThat(roundTrip(s)).startsWith("HTTP/1.1 200");
            await().atMost(Duration.ofSeconds(2)).until(() -> proxy.connectionCount() >= 1);

            proxy.reset();
            assertThat(proxy.connectionCount()).isZero();
            assertThatThrownBy(() -> {
                sendHealthRequest(s);
                if (s.getInputStream().read() < 0) throw new IOException("EOF");
            }).isInstanceOf(IOException.class);
        }
        assertThat(EtcdHttp.health(proxy.endpoint(), Duration.ofSeconds(2))).contains("\"health\":\"true\"");
    }

    @Test
    void latencyDelaysEachDirection() throws Exception {
        TcpProxy proxy = etcd.member(0).proxy();
        EtcdHttp.health(proxy.endpoint(), Duration.ofSeconds(2)); // warm up
        proxy.latency(Duration.ofMillis(200));
        long t0 = System.nanoTime();
        assertThat(EtcdHttp.health(proxy.endpoint(), Duration.ofSeconds(5))).contains("true");
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(400));
        proxy.heal();
        assertThat(proxy.currentLatency()).isZero();
    }

    @Test
    void oneWayBlackholeLosesRequestsButDeliversAnswersInFlight() throws Exception {
        EtcdMember m = etcd.member(0);
        TcpProxy proxy = m.proxy();
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.setSoTimeout(2000);
            assertThat(roundTrip(s)).startsWith("HTTP/1.1 200");

            // a write whose answer is held on its way back; once the server has applied it, requests are cut
            proxy.latency(TcpProxy.Direction.TO_CLIENT, Duration.ofMillis(1500));
            String body = "{\"key\":\"b25ld2F5\",\"value\":\"MQ==\"}"; // oneway = 1
            OutputStream out = s.getOutputStream();
            out.write(("POST /v3/kv/put HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
            out.flush();
            await().atMost(Duration.ofSeconds(2)).until(() -> EtcdHttp.get(m.clientEndpoint(), "oneway", false).isPresent());
            proxy.blackhole(TcpProxy.Direction.TO_SERVER);
            assertThat(proxy.isBlackholed()).isTrue();
            s.setSoTimeout(5000);
            assertThat(readResponse(s.getInputStream())).startsWith("HTTP/1.1 200");

            // requests sent now never arrive
            proxy.latency(TcpProxy.Direction.TO_CLIENT, Duration.ZERO);
            s.setSoTimeout(800);
            sendHealthRequest(s);
            assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);

            proxy.heal();
            s.setSoTimeout(2000);
            assertThat(readResponse(s.getInputStream())).startsWith("HTTP/1.1 200");
        }
    }

    private static String roundTrip(Socket s) throws IOException {
        sendHealthRequest(s);
        return readResponse(s.getInputStream());
    }

    private static void sendHealthRequest(Socket s) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** Reads one HTTP/1.1 response with a Content-Length body. */
    private static String readResponse(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) throw new IOException("EOF in headers: " + head);
            head.append((char) c);
        }
        int len = 0;
        for (String line : head.toString().split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) len = Integer.parseInt(line.substring(15).trim());
        }
        byte[] body = in.readNBytes(len);
        return head + new String(body, StandardCharsets.UTF_8);
    }
}
