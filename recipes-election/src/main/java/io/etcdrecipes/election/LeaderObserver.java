package io.etcdrecipes.election;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.CompactedException;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.SortOrder;
import io.etcdrecipes.client.SortTarget;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.WatchResponse;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.recipes.Registration;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.Outcomes;
import io.etcdrecipes.recipes.internal.SharedExecutors;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@link Election#observe}: the election's candidates are read once, then followed with one watch on the prefix
 * from the read's revision + 1; after every revision the leader (the oldest candidate) is recomputed, and a change of
 * leader, a proclaim, or the last candidate leaving is reported. So no leader is skipped however fast they change
 * (Go's {@code Observe} may skip some), and none is reported twice. The watch resumes by itself after reconnects;
 * after compaction the candidates are read again (changes inside the compacted history are then collapsed into the
 * one the read shows).
 */
final class LeaderObserver implements Registration {

  private final EtcdClient client;
  private final ByteSequence prefix;
  private final LeaderListener listener;
  // touched only on the watch's (serial) callback thread, or before the watch starts
  private final TreeMap<Long, KeyValue> byCreate = new TreeMap<>();
  private final Map<ByteSequence, Long> createOf = new HashMap<>();
  private KeyValue reported; // the last leader reported (null: none, or "no leader" reported)
  private boolean reportedNone;
  private Watcher watcher; // guarded by this
  private boolean closed; // guarded by this
  private static final long FIRST_RESTART_DELAY_MILLIS = 100;
  private static final long MAX_RESTART_DELAY_MILLIS = 5_000;
  private long restartDelayMillis = FIRST_RESTART_DELAY_MILLIS; // guarded by this

  LeaderObserver(EtcdClient client, ByteSequence prefix, LeaderListener listener) {
    this.client = client;
    this.prefix = prefix;
    this.listener = listener;
  }

  void start() {
    read(100);
  }

  /** Reads the candidates and follows them; a read that fails for a reason that can pass is tried again. */
  private void read(long backoffMillis) {
    GetOption all = GetOption.builder().prefix().sort(SortTarget.CREATE, SortOrder.ASCEND).build();
    client.kv().get(prefix, all).whenCompleteAsync((r, t) -> {
      if (isClosed()) {
        return;
      }
      if (t != null) {
        Throwable c = Blocking.unwrap(t);
        if (!worthRetrying(c)) {
          failed(c); // closed, or refused (permission...): it will not get better
          return;
        }
        try {
          SharedExecutors.timer().schedule(() -> read(Math.min(2_000, backoffMillis * 2)), backoffMillis,
              java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
          failed(c);
        }
        return;
      }
      load(r);
      report(r.header().revision());
      follow(r.header().revision() + 1);
    }, client.callbackExecutor());
  }

  private void load(GetResponse r) {
    byCreate.clear();
    createOf.clear();
    for (KeyValue kv : r.kvs()) {
      byCreate.put(kv.createRevision(), kv);
      createOf.put(kv.key(), kv.createRevision());
    }
  }

  private void follow(long fromRevision) {
    Watcher w = client.watch().watch(prefix, WatchOption.builder().prefix().revision(fromRevision).build(),
        new WatchListener() {
          @Override
          public void onNext(WatchResponse response) {
            List<WatchEvent> events = response.events();
            if (!events.isEmpty()) {
              synchronized (LeaderObserver.this) {
                restartDelayMillis = FIRST_RESTART_DELAY_MILLIS;
              }
            }
            for (int i = 0; i < events.size(); i++) {
              apply(events.get(i));
              boolean lastOfRevision = i == events.size() - 1
                  || events.get(i + 1).kv().modRevision() != events.get(i).kv().modRevision();
              if (lastOfRevision) {
                report(events.get(i).kv().modRevision());
              }
            }
          }

          @Override
          public void onError(EtcdException error) {
            if (error instanceof CompactedException || worthRetrying(error)) {
              restart(); // read the candidates again and follow from there
            } else {
              failed(error);
            }
          }
        });
    boolean closeNow;
    synchronized (this) {
      closeNow = closed;
      if (!closeNow) {
        watcher = w;
      }
    }
    if (closeNow) {
      w.close();
    }
  }

  /**
   * Whether observing goes on after {@code c}: not for a closed client or a definite refusal (permission, a bad
   * request), but yes for an overloaded server ("too many requests") and anything transient.
   */
  private static boolean worthRetrying(Throwable c) {
    if (c instanceof io.etcdrecipes.client.ClosedClientException) {
      return false;
    }
    if (c instanceof EtcdException e && e.code() == io.etcdrecipes.client.ErrorCode.RESOURCE_EXHAUSTED) {
      // etcd's "too many requests" passes; gRPC's "message larger than max" (same code) does not
      return e.serverError() == io.etcdrecipes.client.ServerError.TOO_MANY_REQUESTS;
    }
    return Outcomes.mayHaveApplied(c);
  }

  /** After compaction or a watch failure worth retrying: read the candidates again and follow from there. */
  private void restart() {
    long delay;
    synchronized (this) {
      watcher = null;
      delay = restartDelayMillis;
      restartDelayMillis = Math.min(MAX_RESTART_DELAY_MILLIS, restartDelayMillis * 2);
    }
    // a watch that fails right after each read must not loop at RPC speed: back off until an event comes through
    try {
      SharedExecutors.timer().schedule(() -> read(100), delay, java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  private void apply(WatchEvent e) {
    KeyValue kv = e.kv();
    if (e.type() == WatchEvent.Type.DELETE) {
      Long rev = createOf.remove(kv.key());
      if (rev != null) {
        byCreate.remove(rev);
      }
    } else {
      byCreate.put(kv.createRevision(), kv);
      createOf.put(kv.key(), kv.createRevision());
    }
  }

  /** Reports the leader at {@code revision} if it differs from the last one reported. */
  private void report(long revision) {
    if (isClosed()) {
      return;
    }
    KeyValue leader = byCreate.isEmpty() ? null : byCreate.firstEntry().getValue();
    if (leader == null) {
      if (!reportedNone) {
        reportedNone = true;
        reported = null;
        tell(() -> listener.noLeader(revision));
      }
      return;
    }
    if (reported != null && reported.createRevision() == leader.createRevision()
        && reported.modRevision() == leader.modRevision()) {
      return;
    }
    reported = leader;
    reportedNone = false;
    LeaderInfo info = new LeaderInfo(leader.key(), leader.value(), leader.createRevision(), leader.modRevision(),
        revision);
    tell(() -> listener.leaderChanged(info));
  }

  /** A listener that throws must not corrupt what the observer knows: log and go on. */
  private void tell(Runnable call) {
    try {
      call.run();
    } catch (RuntimeException e) {
      org.slf4j.LoggerFactory.getLogger(LeaderObserver.class).warn("leader listener threw; observation goes on", e);
    }
  }

  private void failed(Throwable t) {
    if (isClosed()) {
      return;
    }
    close();
    tell(() -> listener.observationFailed(t instanceof EtcdException e ? e
        : new EtcdException(io.etcdrecipes.client.ErrorCode.UNKNOWN, String.valueOf(t), t)));
  }

  private synchronized boolean isClosed() {
    return closed;
  }

  @Override
  public void close() {
    Watcher w;
    synchronized (this) {
      closed = true;
      w = watcher;
      watcher = null;
    }
    if (w != null) {
      w.close();
    }
  }
}
