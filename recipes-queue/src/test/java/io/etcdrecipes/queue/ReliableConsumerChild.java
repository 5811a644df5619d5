package io.etcdrecipes.queue;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.Session;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM with a {@link ReliableQueue} consumer that claims an item and never acks it, so that a test can SIGKILL
 * it while it holds the claim. Commands on stdin, answers on stdout; instants are {@link System#nanoTime()} (one clock
 * for every JVM on a Linux machine).
 *
 * <pre>
 *   args: endpoints ttlSeconds name maxDeliveries
 *   (at start)  → SESSION leaseHex ttlSeconds
 *   (each claim) → CLAIMED value key deliveryCount nanos     (claims the oldest free item at start and on "next")
 *   next        → claims another (CLAIMED ...)
 *   release     → RELEASED true|false                      (gives the last claimed item back)
 * </pre>
 */
public final class ReliableConsumerChild {

  public static void main(String[] args) throws Exception {
    String endpoints = args[0];
    Duration ttl = Duration.ofSeconds(Long.parseLong(args[1]));
    String name = args[2];
    int maxDeliveries = Integer.parseInt(args[3]);
    try (EtcdClient client = EtcdClient.builder().endpoints(endpoints).callTimeout(Duration.ofSeconds(5)).build();
         BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      client.kv().get(ByteSequence.of("warm-up")).get(10, TimeUnit.SECONDS); // connect before the TTL clock starts
      Session session = Session.builder(client).ttl(ttl).build(Duration.ofSeconds(10));
      println("SESSION " + Long.toHexString(session.leaseId()) + " " + session.ttl().toSeconds());
      ReliableQueue q = ReliableQueue.builder(session, name).maxDeliveries(maxDeliveries).build();
      Delivery d = claim(q);
      String line;
      while ((line = in.readLine()) != null) {
        switch (line.trim()) {
          case "next" -> d = claim(q);
          case "release" -> println("RELEASED " + d.release());
          default -> println("UNKNOWN " + line);
        }
      }
    }
  }

  private static Delivery claim(ReliableQueue q) throws Exception {
    Delivery d = q.dequeue(Duration.ofSeconds(30));
    println("CLAIMED " + d.item().valueUtf8() + " " + d.item().key().toStringUtf8() + " " + d.deliveryCount() + " "
        + System.nanoTime());
    return d;
  }

  private static synchronized void println(String s) {
    System.out.println(s);
    System.out.flush();
  }
}
