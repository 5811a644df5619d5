package io.etcdrecipes.bench;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The writer of the watch workload, in a process of its own so that the benchmark JVM's CPU time is the
 * watcher's alone: puts 256-byte values whose first 8 bytes are System.nanoTime() (CLOCK_MONOTONIC on
 * Linux, the same clock in every process) to 1000 keys under a prefix, {@code inFlight} at a time, until
 * its standard input closes (the parent ended or closed it). Prints {@code ready} once warmed up.
 *
 * <p>Usage: {@code WatchWriter <endpoints> <prefix> <inFlight>}
 */
public final class WatchWriter {

  private WatchWriter() {}

  public static void main(String[] args) throws Exception {
    String endpoints = args[0];
    String prefix = args[1];
    int inFlight = Integer.parseInt(args[2]);
    Thread watchdog = new Thread(() -> {
      try {
        while (System.in.read() >= 0) {
          // wait for EOF
        }
      } catch (java.io.IOException e) {
        // parent gone
      }
      Runtime.getRuntime().halt(0);
    }, "stdin-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    byte[] template = new byte[Bench.VALUE_BYTES];
    new Random(7).nextBytes(template);
    List<ByteSequence> keys = new ArrayList<>();
    for (int i = 0; i < Bench.KEYS; i++) {
      byte[] k = Bench.key("watch", i);
      keys.add(ByteSequence.of(k));
    }
    if (!keys.get(0).startsWith(ByteSequence.of(prefix))) {
      throw new IllegalArgumentException("keys do not start with " + prefix);
    }
    try (EtcdClient client = EtcdClient.builder().endpoints(endpoints).build()) {
      AtomicInteger next = new AtomicInteger();
      long warm = 2_000_000_000L;
      Load.closedLoop(inFlight, warm, i -> put(client, keys, next, template));
      System.out.println("ready");
      System.out.flush();
      Load.closedLoop(inFlight, Long.MAX_VALUE / 4, i -> put(client, keys, next, template));
    }
  }

  private static java.util.concurrent.CompletableFuture<?> put(EtcdClient client, List<ByteSequence> keys,
                                                                AtomicInteger next, byte[] template) {
    byte[] v = template.clone();
    long now = System.nanoTime();
    for (int b = 7; b >= 0; b--) {
      v[b] = (byte) now;
      now >>>= 8;
    }
    return client.kv().put(keys.get((next.getAndIncrement() & 0x7fffffff) % keys.size()), ByteSequence.of(v));
  }
}
