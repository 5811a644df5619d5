package io.etcdrecipes.barrier;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.recipes.Session;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM with one {@link DoubleBarrier} participant, so that a test can SIGKILL it inside the barrier or while
 * others wait to enter. Commands on stdin, answers on stdout; instants are {@link System#nanoTime()}.
 *
 * <pre>
 *   args: endpoints ttlSeconds name count
 *   (at start) → SESSION leaseHex ttlSeconds, then ENTERING nanos (enter called), then
 *                ENTERED nanos | ENTER-FAILED exception
 *   leave      → LEFT nanos | LEAVE-FAILED exception
 * </pre>
 */
public final class DoubleBarrierChild {

  public static void main(String[] args) throws Exception {
    String endpoints = args[0];
    Duration ttl = Duration.ofSeconds(Long.parseLong(args[1]));
    String name = args[2];
    int count = Integer.parseInt(args[3]);
    try (EtcdClient client = EtcdClient.builder().endpoints(endpoints).callTimeout(Duration.ofSeconds(5)).build();
         BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      client.kv().get(ByteSequence.of("warm-up")).get(10, TimeUnit.SECONDS); // connect before the TTL clock starts
      Session session = Session.builder(client).ttl(ttl).build(Duration.ofSeconds(10));
      println("SESSION " + Long.toHexString(session.leaseId()) + " " + session.ttl().toSeconds());
      DoubleBarrier barrier = DoubleBarrier.create(session, name, count);
      println("ENTERING " + System.nanoTime());
      try {
        barrier.enter(Duration.ofSeconds(60));
        println("ENTERED " + System.nanoTime());
      } catch (Exception e) {
        println("ENTER-FAILED " + e);
      }
      String line;
      while ((line = in.readLine()) != null) {
        if (line.trim().equals("leave")) {
          try {
            barrier.leave(Duration.ofSeconds(60));
            println("LEFT " + System.nanoTime());
          } catch (Exception e) {
            println("LEAVE-FAILED " + e);
          }
        } else {
          println("UNKNOWN " + line);
        }
      }
    }
  }

  private static synchronized void println(String s) {
    System.out.println(s);
    System.out.flush();
  }
}
