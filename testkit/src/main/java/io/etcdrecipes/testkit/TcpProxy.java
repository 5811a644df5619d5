package io.etcdrecipes.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP proxy on a loopback port in front of one target port, for injecting network faults between a
 * client and an etcd member. It forwards bytes both ways and knows nothing of the protocol, so gRPC over
 * HTTP/2 passes through untouched.
 *
 * <p>One accept thread plus two daemon threads per connection, all named {@code etcd-proxy-<port>...}.
 * Faults apply to new and existing connections alike:
 * <ul>
 *   <li>{@link #latency(Duration)}: every chunk read is held that long before it is written on, in each direction;
 *       {@link #latency(Direction, Duration)} in one direction only;</li>
 *   <li>{@link #blackhole()}: connections are still accepted, but nothing is forwarded either way (bytes already in
 *       flight are held, like packets lost in the network, and flow again after {@link #heal()});
 *       {@link #blackhole(Direction)} cuts one direction only (e.g. requests lost, answers in flight still
 *       delivered);</li>
 *   <li>{@link #reset()}: every current connection is closed with a TCP RST on both sides; new ones are accepted;</li>
 *   <li>{@link #heal()}: normal forwarding, no latency.</li>
 * </ul>
 * {@link #close()} stops accepting and closes every connection.
 */
public final class TcpProxy implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);
    private static final int CHUNK = 64 * 1024;

    private final String targetHost;
    private final int targetPort;
    private final ServerSocket server;
    private final int port;
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final Object stateLock = new Object();
    private volatile long latencyToServerNanos;
    private volatile long latencyToClientNanos;
    private volatile boolean blackholedToServer;
    private volatile boolean blackholedToClient;
    private volatile boolean closed;

    /** Which way bytes flow through the proxy. */
    public enum Direction {
        /** From the client to the etcd member (requests). */
        TO_SERVER,
        /** From the etcd member to the client (answers, events). */
        TO_CLIENT
    }

    /** Starts a proxy on a free loopback port that forwards to {@code targetHost:targetPort}. */
    public TcpProxy(String targetHost, int targetPort) {
        this.targetHost = Objects.requireNonNull(targetHost, "targetHost");
        this.targetPort = targetPort;
        try {
            server = new ServerSocket();
            server.setReuseAddress(true);
            // Port 0: the kernel picks from the ephemeral range, which never overlaps the etcd ports we allocate.
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 128);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a proxy port for " + targetHost + ":" + targetPort, e);
        }
        port = server.getLocalPort();
        Thread acceptor = new Thread(this::acceptLoop, "etcd-proxy-" + port);
        acceptor.setDaemon(true);
        acceptor.start();
        log.debug("TCP proxy 127.0.0.1:{} -> {}:{}", port, targetHost, targetPort);
    }

    /** The loopback port this proxy listens on. */
    public int port() {
        return port;
    }

    /** {@code http://127.0.0.1:PORT}, usable as an etcd client endpoint. */
    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    public int targetPort() {
        return targetPort;
    }

    /** Adds {@code delay} before each chunk is forwarded, in each direction. {@code Duration.ZERO} removes it. */
    public TcpProxy latency(Duration delay) {
        checkLatency(delay);
        latencyToServerNanos = delay.toNanos();
        latencyToClientNanos = delay.toNanos();
        log.info("Proxy {} -> {}: latency {} ms", port, targetPort, delay.toMillis());
        return this;
    }

    /** Adds {@code delay} before each chunk is forwarded in {@code direction} only; the other keeps its own. */
    public TcpProxy latency(Direction direction, Duration delay) {
        Objects.requireNonNull(direction, "direction");
        checkLatency(delay);
        if (direction == Direction.TO_SERVER) {
            latencyToServerNanos = delay.toNanos();
        } else {
            latencyToClientNanos = delay.toNanos();
        }
        log.info("Proxy {} -> {}: latency {} ms {}", port, targetPort, delay.toMillis(), direction);
        return this;
    }

    private static void checkLatency(Duration delay) {
        Objects.requireNonNull(delay, "delay");
        if (delay.isNegative()) throw new IllegalArgumentException("negative latency: " + delay);
    }

    /** Accepts connections but forwards nothing, on new and existing connections, until {@link #heal()}. */
    public TcpProxy blackhole() {
        blackholedToServer = true;
        blackholedToClient = true;
        log.info("Proxy {} -> {}: blackhole", port, targetPort);
        return this;
    }

    /**
     * Forwards nothing in {@code direction} (held, as by {@link #blackhole()}) until {@link #heal()}; the other
     * direction keeps flowing, so answers already on their way still arrive after requests stopped reaching the
     * server.
     */
    public TcpProxy blackhole(Direction direction) {
        Objects.requireNonNull(direction, "direction");
        if (direction == Direction.TO_SERVER) {
            blackholedToServer = true;
        } else {
            blackholedToClient = true;
        }
        log.info("Proxy {} -> {}: blackhole {}", port, targetPort, direction);
        return this;
    }

    /** Closes every current connection with a TCP reset; new connections are accepted as before. */
    public TcpProxy reset() {
        int n = 0;
        for (Connection c : connections) {
            c.abort();
            n++;
        }
        log.info("Proxy {} -> {}: reset {} connection(s)", port, targetPort, n);
        return this;
    }

    /** Back to normal: no blackhole, no latency, in both directions. */
    public TcpProxy heal() {
        boolean faulty = isBlackholed() || latencyToServerNanos != 0 || latencyToClientNanos != 0;
        latencyToServerNanos = 0;
        latencyToClientNanos = 0;
        synchronized (stateLock) {
            blackholedToServer = false;
            blackholedToClient = false;
            stateLock.notifyAll();
        }
        if (faulty) log.info("Proxy {} -> {}: healed", port, targetPort);
        return this;
    }

    /** Whether either direction is blackholed. */
    public boolean isBlackholed() {
        return blackholedToServer || blackholedToClient;
    }

    /** The latency added, the larger of the two directions' when they differ. */
    public Duration currentLatency() {
        return Duration.ofNanos(Math.max(latencyToServerNanos, latencyToClientNanos));
    }

    /** The number of client connections currently open through this proxy. */
    public int connectionCount() {
        return connections.size();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // ignore
        }
        synchronized (stateLock) {
            stateLock.notifyAll();
        }
        for (Connection c : connections) c.close();
        connections.clear();
        log.debug("TCP proxy {} closed", port);
    }

    @Override
    public String toString() {
        return "TcpProxy[127.0.0.1:" + port + " -> " + targetHost + ":" + targetPort
                + (blackholedToServer ? ", blackholed to server" : "") + (blackholedToClient ? ", blackholed to client" : "")
                + (latencyToServerNanos > 0 ? ", latency to server " + TimeUnit.NANOSECONDS.toMillis(latencyToServerNanos) + " ms" : "")
                + (latencyToClientNanos > 0 ? ", latency to client " + TimeUnit.NANOSECONDS.toMillis(latencyToClientNanos) + " ms" : "")
                + "]";
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (!closed) log.warn("Proxy {} stopped accepting: {}", port, e.toString());
                return;
            }
            Socket upstream = new Socket();
            try {
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                upstream.connect(new InetSocketAddress(targetHost, targetPort), 2000);
            } catch (IOException e) {
                // Target down: the client sees the connection reset, as it would without the proxy.
                abortQuietly(client);
                closeQuietly(upstream);
                continue;
            }
            Connection c = new Connection(client, upstream);
            connections.add(c);
            if (closed) {
                c.close();
                return;
            }
            c.start();
        }
    }

    /** Blocks while {@code direction} is blackholed; returns false once closed. */
    private boolean awaitForwarding(Connection c, Direction direction) throws InterruptedException {
        synchronized (stateLock) {
            while ((direction == Direction.TO_SERVER ? blackholedToServer : blackholedToClient) && !closed && !c.done) {
                stateLock.wait(100);
            }
        }
        return !closed && !c.done;
    }

    private final class Connection {
        final Socket client;
        final Socket upstream;
        volatile boolean done;
        private int finished;

        Connection(Socket client, Socket upstream) {
            this.client = client;
            this.upstream = upstream;
        }

        void start() {
            String name = "etcd-proxy-" + port + "-" + client.getPort();
            Thread up = new Thread(() -> pump(client, upstream, Direction.TO_SERVER), name + "-up");
            Thread down = new Thread(() -> pump(upstream, client, Direction.TO_CLIENT), name + "-down");
            up.setDaemon(true);
            down.setDaemon(true);
            up.start();
            down.start();
        }

        private void pump(Socket from, Socket to, Direction direction) {
            byte[] buf = new byte[CHUNK];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                while (true) {
                    int n = in.read(buf);
                    if (n < 0) {
                        // Half-close: pass the FIN on, keep the other direction open.
                        try {
                            to.shutdownOutput();
                        } catch (IOException e) {
                            // already closed
                        }
                        break;
                    }
                    if (!awaitForwarding(this, direction)) break;
                    long delay = direction == Direction.TO_SERVER ? latencyToServerNanos : latencyToClientNanos;
                    if (delay > 0) TimeUnit.NANOSECONDS.sleep(delay); // the injected latency itself
                    if (!awaitForwarding(this, direction)) break;
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (SocketException e) {
                // closed or reset: end the connection
                abort();
                return;
            } catch (IOException e) {
                abort();
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                abort();
                return;
            }
            synchronized (this) {
                if (++finished == 2) close();
            }
        }

        /** Closes both sides with RST (SO_LINGER 0). */
        void abort() {
            done = true;
            abortQuietly(client);
            abortQuietly(upstream);
            connections.remove(this);
        }

        void close() {
            done = true;
            closeQuietly(client);
            closeQuietly(upstream);
            connections.remove(this);
        }
    }

    private static void abortQuietly(Socket s) {
        try {
            if (!s.isClosed()) {
                s.setSoLinger(true, 0);
                s.close();
            }
        } catch (IOException e) {
            // ignore
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // ignore
        }
    }
}
