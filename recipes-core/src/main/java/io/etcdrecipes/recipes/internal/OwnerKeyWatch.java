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
 * {@code deleted} is called at most once, with whether the session's lease was still alive (a lease that is gone
 * took the key with it: that is the session's loss, not someone else's delete).
 */
public final class OwnerKeyWatch implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(OwnerKeyWatch.class);
  private static final long RECHECK_BACKOFF_MILLIS = 500;

  /** What the owner hears: the key was deleted at {@code revision}; {@code leaseAlive} false when its lease is gone. */
  @FunctionalInterface
  public interface Deleted {
    void deleted(long revision, boolean leaseAlive);
  }

  private final Session session;
  private final ByteSequence key;
  private final long createRevision;
  private final Deleted deleted;
  // guarded by this
  private boolean over;
  private Watcher watcher;

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
    session.client().kv().get(key).whenComplete((r, t) -> {
      if (isOver()) {
        return;
      }
      if (t != null) {
        if (session.state() != SessionState.LOST) {
          SharedExecutors.timer().schedule(this::recheck, RECHECK_BACKOFF_MILLIS, TimeUnit.MILLISECONDS);
        }
        return;
      }
      KeyValue kv = r.first();
      if (kv == null || kv.createRevision() != createRevision) {
        gone(r.header().revision());
      } else {
        watchFrom(r.header().revision() + 1);
      }
    });
  }

  private void gone(long revision) {
    synchronized (this) {
      if (over) {
        return;
      }
    }
    close();
    session.client().lease().timeToLive(session.leaseId(), false).whenComplete((ttl, t) ->
        deleted.deleted(revision, t != null || ttl.ttl() >= 0)); // -1: no such lease
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
