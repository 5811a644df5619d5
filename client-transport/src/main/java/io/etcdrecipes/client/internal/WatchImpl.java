package io.etcdrecipes.client.internal;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.EmptyKeyException;
import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.ServerError;
import io.etcdrecipes.client.Watch;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.Watcher;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The Watch service: one {@link WatchStream} per distinct request metadata (plain, and require-leader),
 * each carrying every watch of the client that uses that metadata.
 */
public final class WatchImpl implements Watch, AutoCloseable {

  private final Caller caller;
  private final KvProtos protos;
  private final WatchStream plain;
  private final WatchStream leaderRequired;

  public WatchImpl(Caller caller, KvProtos protos) {
    this.caller = caller;
    this.protos = protos;
    this.plain = new WatchStream(caller, protos, false);
    this.leaderRequired = new WatchStream(caller, protos, true);
  }

  @Override
  public Watcher watch(ByteSequence key, WatchOption option, WatchListener listener) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(option, "option");
    Objects.requireNonNull(listener, "listener");
    if (key.isEmpty() && !option.isPrefix() && !option.isFromKey()) {
      throw new EmptyKeyException(ErrorCode.INVALID_ARGUMENT,
          "etcdserver: key is not provided (a watch needs a key, or prefix/fromKey for all keys)",
          ServerError.EMPTY_KEY, null);
    }
    boolean requireLeader = option.isRequireLeader() || caller.connection().config().watchRequireLeader();
    return (requireLeader ? leaderRequired : plain).add(key, option, listener);
  }

  @Override
  public CompletableFuture<Void> requestProgress() {
    return CompletableFuture.allOf(plain.requestProgress(), leaderRequired.requestProgress());
  }

  /** Watches not yet ended. */
  public int openWatches() {
    return plain.size() + leaderRequired.size();
  }

  /** gRPC streams currently open (for tests: 1,000 watches must share one). */
  public int openStreams() {
    return plain.isOpen() + leaderRequired.isOpen();
  }

  @Override
  public void close() {
    plain.close();
    leaderRequired.close();
  }

  List<WatchStream> streams() {
    List<WatchStream> s = new ArrayList<>();
    s.add(plain);
    s.add(leaderRequired);
    return s;
  }
}
