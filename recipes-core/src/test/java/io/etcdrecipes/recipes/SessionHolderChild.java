package io.etcdrecipes.recipes;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.PutOption;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A child JVM that owns sessions for {@link SessionPauseTest}: commands on stdin, answers on stdout. While a session
 * is open a thread asks {@code isUsable} in a tight loop and remembers when the last call that answered true
 * started; states are printed as the listener hears them, with {@link System#nanoTime()} (comparable across JVMs
 * on one Linux machine).
 *
 * <pre>
 *   (at start)  → READY                       (the client has connected)
 *   open KEY   → OPENED leaseHex revision     (a session, KEY attached to its lease)
 *   state      → STATE-NOW name               (the open session's state)
 *   report     → LASTUSABLE nanos             (start of the last isUsable call that returned true)
 *   close      → CLOSED
 *   STATE name nanos                          (printed by the listener)
 * </pre>
 */
public final class SessionHolderChild {

  public static void main(String[] args) throws Exception {
    String endpoint = args[0];
    long ttl = Long.parseLong(args[1]);
    try (EtcdClient client = EtcdClient.builder().endpoints(endpoint).callTimeout(Duration.ofSeconds(5)).build();
         BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      client.kv().get(ByteSequence.of("warm-up")).get(); // connect before any TTL clock starts
      println("READY");
      Session session = null;
      Thread poller = null;
      AtomicLong lastUsable = new AtomicLong();
      String line;
      while ((line = in.readLine()) != null) {
        String[] cmd = line.trim().split(" ");
        switch (cmd[0]) {
          case "open" -> {
            Session s = Session.builder(client).ttl(Duration.ofSeconds(ttl))
                .listener((x, st) -> println("STATE " + st + " " + System.nanoTime())).build();
            long rev = client.kv().put(ByteSequence.of(cmd[1]), ByteSequence.of("held"), PutOption.lease(s.leaseId()))
                .get().header().revision();
            lastUsable.set(0);
            session = s;
            poller = new Thread(() -> {
              while (!Thread.currentThread().isInterrupted()) {
                long t = System.nanoTime();
                if (s.isUsable(SessionPolicy.ONLY_LOST)) {
                  lastUsable.set(t);
                }
                Thread.onSpinWait();
              }
            }, "usable-poller");
            poller.setDaemon(true);
            poller.start();
            println("OPENED " + Long.toHexString(s.leaseId()) + " " + rev);
          }
          case "report" -> println("LASTUSABLE " + lastUsable.get());
          case "state" -> println("STATE-NOW " + (session == null ? "NONE" : session.state()));
          case "close" -> {
            if (poller != null) {
              poller.interrupt();
              poller.join();
            }
            if (session != null) {
              session.close();
            }
            println("CLOSED");
          }
          default -> println("ERROR unknown command " + line);
        }
      }
    }
  }

  private static synchronized void println(String s) {
    System.out.println(s);
    System.out.flush();
  }
}
