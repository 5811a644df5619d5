package io.etcdrecipes.recipes.internal;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.ClosedClientException;
import io.etcdrecipes.client.EtcdException;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.WatchResponse;
import io.etcdrecipes.client.Watcher;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * Tells an ownership when its key is deleted by anyone but itself (an operator's {@code etcdctl del --prefix}, a
 * cleanup job, a revoked lease): one watch on the key, on the client's shared watch stream, from the revision after
 * the one ownership was established at, so a delete that landed before the watch was created is delivered too.
 * Deletes only ({@code noPut}): a key created again has been deleted first. When the watch ends with an error (a
 * compaction), the key is read: gone or created again means deleted; else the watch starts again after that read.
 * {@code deleted} is called at most once, on the thread that delivers the watch's events (never one that completes
 * RPCs) or the read's answer. The watch starts from a past revision, so etcd catches it up in its 100 ms loop once,
 * at its start: a delete that came in the meantime is delivered then (docs/conventions.md, "Watches and reads").
 */
public final class OwnerKeyWatch implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(OwnerKeyWatch.class);
  private static final long FIRST_RECHECK_DELAY_MILLIS = 500;
  private static final long MAX_RECHECK_DELAY_MILLIS = 5_000;

  /** What the owner hears: the key was deleted (or re-created) at {@code revision}. */
  @FunctionalInterface
  public interface Deleted {
    void deleted(long revision);
  }

  private final Session session;
  private final ByteSequence key;
  private final long createRevision;
  private final Deleted deleted;
  // guarded by this
  private boolean over;
  private Watcher watcher;
  private long recheckDelayMillis = FIRST_RECHECK_DELAY_MILLIS;

  private OwnerKeyWatch(Session session, ByteSequence key, long createRevision, Deleted deleted) {
    this.session = session;
    this.key = key;
    this.createRevision = createRevision;
    this.deleted = deleted;
  }

  /** Watches {@code key} (our incarnation: {@code createRevision}) for a delete after {@code afterRevision}. */
  public static OwnerKeyWatch start(Session session, ByteSequence key, long createRevision, long afterRevision,
                                    Deleted deleted) {
    OwnerKeyWatch w = new OwnerKeyWatch(session, key, createRevision, deleted);
    w.watchFrom(Math.max(createRevision, afterRevision) + 1);
    return w;
  }

  private void watchFrom(long revision) {
    Watcher w;
    try {
      w = session.client().watch().watch(key, WatchOption.builder().revision(revision).noPut().build(),
          new WatchListener() {
            @Override
            public void onNext(WatchResponse response) {
              for (WatchEvent e : response.events()) {
                if (e.type() == WatchEvent.Type.DELETE) {
                  gone(e.kv().modRevision());
                  return;
                }
              }
            }

            @Override
            public void onError(EtcdException error) {
              if (!(error instanceof ClosedClientException)) {
                recheck();
              }
            }
          });
    } catch (RuntimeException e) { // a closed client: nothing left to watch with
      log.debug("{}: cannot watch the key: {}", key.toStringUtf8(), e.toString());
      return;
    }
    boolean closeNow;
    synchronized (this) {
      closeNow = over;
      if (!over) {
        watcher = w;
      }
    }
    if (closeNow) {
      w.close();
    }
  }

  /** The watch ended with an error: read the key; gone means deleted, else watch again after the read. */
  private void recheck() {
    if (isOver()) {
      return;
    }
    session.client().kv().get(key).whenCompleteAsync((r, t) -> { // off the RPC thread: it may end the ownership
      if (isOver()) {
        return;
      }
      if (t != null) {
        if (session.state() != SessionState.LOST) {
          long delay = nextRecheckDelay();
          log.debug("{}: cannot read the key after its watch failed ({}); again in {} ms", key.toStringUtf8(),
              t.toString(), delay);
          SharedExecutors.timer().schedule(this::recheck, delay, TimeUnit.MILLISECONDS);
        }
        return;
      }
      KeyValue kv = r.first();
      if (kv == null || kv.createRevision() != createRevision) {
        gone(r.header().revision());
      } else {
        watchFrom(r.header().revision() + 1);
      }
    }, SharedExecutors.callbacks(session.client(), null));
  }

  private synchronized long nextRecheckDelay() {
    long d = recheckDelayMillis;
    recheckDelayMillis = Math.min(MAX_RECHECK_DELAY_MILLIS, d * 2);
    return d;
  }

  private void gone(long revision) {
    synchronized (this) {
      if (over) {
        return;
      }
    }
    close();
    deleted.deleted(revision);
  }

  private synchronized boolean isOver() {
    return over;
  }

  /** Stops watching (the ownership was released or lost otherwise). Idempotent. */
  @Override
  public void close() {
    Watcher w;
    synchronized (this) {
      over = true;
      w = watcher;
      watcher = null;
    }
    if (w != null) {
      w.close();
    }
  }
}
