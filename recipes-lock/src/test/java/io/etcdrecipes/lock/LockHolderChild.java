package io.etcdrecipes.lock;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.Compare;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.Txn;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Session;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM that holds a lock for the holder-failure tests, so that a test can SIGKILL or SIGSTOP it: commands on
 * stdin, answers on stdout, instants as {@link System#nanoTime()} (one clock for every JVM on a Linux machine).
 *
 * <pre>
 *   args: endpoints ttlSeconds kind(MUTEX|READ|WRITE|PERMIT) name permits
 *   (at start)           → HOLDING token key leaseHex ttlSeconds nanos   (the lock is held)
 *   (when told)          → LOST reason nanos
 *   valid                → VALID true|false
 *   commit KEY VALUE     → COMMIT OK | COMMIT REJECTED exception [reason]   (Ownership.commit: a put, guarded)
 *   append KEY           → APPEND OK | APPEND REJECTED     (appends "token," under the lock's guard and a CAS on KEY)
 *   append-unguarded KEY → UNGUARDED OK | UNGUARDED REJECTED   (the same append with the CAS only: no fencing)
 *   fence KEY            → FENCE OK | FENCE REJECTED       (writes the token if KEY holds no higher one: the check a
 *                                                            resource outside etcd makes, here as a compare)
 *   release              → RELEASED true|false
 * </pre>
 */
public final class LockHolderChild {

  public static void main(String[] args) throws Exception {
    String endpoints = args[0];
    Duration ttl = Duration.ofSeconds(Long.parseLong(args[1]));
    LockTestSupport.Kind kind = LockTestSupport.Kind.valueOf(args[2]);
    String name = args[3];
    int permits = Integer.parseInt(args[4]);
    try (EtcdClient client = EtcdClient.builder().endpoints(endpoints).callTimeout(Duration.ofSeconds(5)).build();
         BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      client.kv().get(ByteSequence.of("warm-up")).get(10, TimeUnit.SECONDS); // connect before the TTL clock starts
      Session session = Session.builder(client).ttl(ttl).build(Duration.ofSeconds(10));
      Ownership held = kind.on(session, name, permits).lock(Duration.ofSeconds(30));
      held.onLost(e -> println("LOST " + e.reason() + " " + System.nanoTime()));
      println("HOLDING " + held.fencingToken() + " " + held.key().toStringUtf8() + " "
          + Long.toHexString(session.leaseId()) + " " + session.ttl().toSeconds() + " " + System.nanoTime());
      KV kv = client.kv();
      String line;
      while ((line = in.readLine()) != null) {
        String[] cmd = line.trim().split(" ");
        try {
          switch (cmd[0]) {
            case "valid" -> println("VALID " + held.isValid());
            case "commit" -> {
              try {
                held.commit(kv, Op.put(ByteSequence.of(cmd[1]), ByteSequence.of(cmd[2]))).get(10, TimeUnit.SECONDS);
                println("COMMIT OK");
              } catch (ExecutionException e) {
                Throwable c = e.getCause();
                println("COMMIT REJECTED " + c.getClass().getSimpleName()
                    + (c instanceof OwnershipLostException o ? " " + o.reason() : ""));
              }
            }
            case "append" -> println("APPEND " + (append(kv, ByteSequence.of(cmd[1]), held, true) ? "OK" : "REJECTED"));
            case "append-unguarded" ->
                println("UNGUARDED " + (append(kv, ByteSequence.of(cmd[1]), held, false) ? "OK" : "REJECTED"));
            case "fence" -> {
              ByteSequence key = ByteSequence.of(cmd[1]);
              TxnResponse r = kv.txn().when(Compare.value(key).less(ByteSequence.of(token(held.fencingToken() + 1))))
                  .then(Op.put(key, ByteSequence.of(token(held.fencingToken())))).commit().get(10, TimeUnit.SECONDS);
              println("FENCE " + (r.succeeded() ? "OK" : "REJECTED"));
            }
            case "release" -> println("RELEASED " + held.release());
            default -> println("ERROR unknown command " + line);
          }
        } catch (Exception e) {
          println("ERROR " + e);
        }
      }
    }
  }

  /** A fencing token as a resource stores it: fixed width, so that byte order is numeric order. */
  static String token(long token) {
    return String.format("%019d", token);
  }

  /** Appends {@code token,} to {@code key}: a read, then a write conditional on the key's mod revision (and the guard). */
  static boolean append(KV kv, ByteSequence key, Ownership held, boolean guarded) throws Exception {
    KeyValue current = kv.get(key).get(10, TimeUnit.SECONDS).first();
    long modRevision = current == null ? 0 : current.modRevision();
    String text = current == null ? "" : current.value().toStringUtf8();
    Compare unchanged = Compare.modRevision(key).equal(modRevision);
    Txn txn = guarded ? held.txn(kv, unchanged) : kv.txn().when(unchanged);
    return txn.then(Op.put(key, ByteSequence.of(text + held.fencingToken() + ","))).commit()
        .get(10, TimeUnit.SECONDS).succeeded();
  }

  private static synchronized void println(String s) {
    System.out.println(s);
    System.out.flush();
  }
}
