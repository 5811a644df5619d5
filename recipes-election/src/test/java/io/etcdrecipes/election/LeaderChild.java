package io.etcdrecipes.election;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.KV;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.TxnResponse;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Session;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A leader in a child JVM for the leader-process failure tests, so that a test can SIGKILL or SIGSTOP it: commands on
 * stdin, answers on stdout, instants as {@link System#nanoTime()} (one clock for every JVM on a Linux machine).
 *
 * <pre>
 *   args: endpoints ttlSeconds mode(ELECTION|LATCH) name id
 *   (once elected)         → ELECTED token key leaseHex ttlSeconds nanos
 *   (when told of the loss) → LOST reason nanos        (Leadership.onLost; both modes)
 *                           → NOT_LEADER nanos         (LeaderLatchListener.notLeader; LATCH only)
 *   valid                  → VALID true|false
 *   commit KEY VALUE       → COMMIT OK | COMMIT REJECTED exception [reason]   (Leadership.commit: a put, fenced)
 *   guarded KEY VALUE      → GUARDED OK | GUARDED REJECTED   (the term's guard sent as is: the server decides)
 *   unguarded KEY VALUE    → UNGUARDED OK | UNGUARDED FAILED exception        (a plain put: no fencing)
 *   resign                 → RESIGNED true|false
 * </pre>
 */
public final class LeaderChild {

  /** How the child leads. */
  enum Mode { ELECTION, LATCH }

  public static void main(String[] args) throws Exception {
    String endpoints = args[0];
    Duration ttl = Duration.ofSeconds(Long.parseLong(args[1]));
    Mode mode = Mode.valueOf(args[2]);
    String name = args[3];
    String id = args[4];
    try (EtcdClient client = EtcdClient.builder().endpoints(endpoints).callTimeout(Duration.ofSeconds(5)).build();
         BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      client.kv().get(ByteSequence.of("warm-up")).get(10, TimeUnit.SECONDS); // connect before the TTL clock starts
      Leadership term;
      Session session;
      if (mode == Mode.ELECTION) {
        session = Session.builder(client).ttl(ttl).build(Duration.ofSeconds(10));
        term = Election.create(session, name).campaign(id, Duration.ofSeconds(30));
      } else {
        LeaderLatch latch = LeaderLatch.builder(client, name, id).ttl(ttl).build();
        latch.addListener(new LeaderLatchListener() {
          @Override
          public void isLeader(Leadership t) {
          }

          @Override
          public void notLeader() {
            println("NOT_LEADER " + System.nanoTime());
          }
        });
        latch.start();
        term = latch.await(Duration.ofSeconds(30));
        session = term.ownership().session();
      }
      term.onLost(e -> println("LOST " + e.reason() + " " + System.nanoTime()));
      println("ELECTED " + term.fencingToken() + " " + term.key().toStringUtf8() + " "
          + Long.toHexString(session.leaseId()) + " " + session.ttl().toSeconds() + " " + System.nanoTime());
      KV kv = client.kv();
      String line;
      while ((line = in.readLine()) != null) {
        String[] cmd = line.trim().split(" ");
        try {
          switch (cmd[0]) {
            case "valid" -> println("VALID " + term.isValid());
            case "commit" -> {
              try {
                term.commit(kv, Op.put(ByteSequence.of(cmd[1]), ByteSequence.of(cmd[2]))).get(10, TimeUnit.SECONDS);
                println("COMMIT OK");
              } catch (ExecutionException e) {
                Throwable c = e.getCause();
                println("COMMIT REJECTED " + c.getClass().getSimpleName()
                    + (c instanceof OwnershipLostException o ? " " + o.reason() : ""));
              }
            }
            case "guarded" -> {
              TxnResponse r = term.txn(kv).then(Op.put(ByteSequence.of(cmd[1]), ByteSequence.of(cmd[2]))).commit()
                  .get(10, TimeUnit.SECONDS);
              println("GUARDED " + (r.succeeded() ? "OK" : "REJECTED"));
            }
            case "unguarded" -> {
              try {
                kv.put(ByteSequence.of(cmd[1]), ByteSequence.of(cmd[2])).get(10, TimeUnit.SECONDS);
                println("UNGUARDED OK");
              } catch (ExecutionException e) {
                println("UNGUARDED FAILED " + e.getCause());
              }
            }
            case "resign" -> println("RESIGNED " + term.resign());
            default -> println("ERROR unknown command " + line);
          }
        } catch (Exception e) {
          println("ERROR " + e);
        }
      }
    }
  }

  private static synchronized void println(String s) {
    System.out.println(s);
    System.out.flush();
  }
}
