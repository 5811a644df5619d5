package io.etcdrecipes.client.mirror;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.CompactedException;
import io.etcdrecipes.client.EtcdClient;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.RangeIterator;
import io.etcdrecipes.client.WatchListener;
import io.etcdrecipes.client.WatchOption;
import io.etcdrecipes.client.Watcher;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Mirrors a prefix (Go: {@code clientv3/mirror}). {@link #syncBase} streams every key under the prefix
 * as it was at one revision, page by page, so the whole range is never held in memory;
 * {@link #syncUpdates} then watches the prefix from that revision + 1, so base plus updates is an exact,
 * gap-free copy.
 *
 * <p>If the base revision is compacted before the updates start (or while the watch is disconnected for
 * long), the watch ends with a {@link CompactedException}: the copy can no longer be completed from
 * history and must be rebuilt with a new {@code Syncer} (a fresh {@code syncBase}). A syncer is for one
 * base-then-updates pass; it is not thread-safe.
 */
public final class Syncer {

  /** Keys per page of the base copy, as Go's batch limit. */
  public static final int DEFAULT_PAGE_SIZE = 1000;

  private final EtcdClient client;
  private final ByteSequence prefix;
  private final int pageSize;
  private long revision;

  /**
   * @param revision the revision to copy at, or 0 for the newest (fixed by the first page)
   */
  public Syncer(EtcdClient client, ByteSequence prefix, long revision, int pageSize) {
    this.client = Objects.requireNonNull(client, "client");
    this.prefix = Objects.requireNonNull(prefix, "prefix");
    if (revision < 0 || pageSize <= 0) {
      throw new IllegalArgumentException("revision must be >= 0 and pageSize > 0");
    }
    this.revision = revision;
    this.pageSize = pageSize;
  }

  public Syncer(EtcdClient client, ByteSequence prefix) {
    this(client, prefix, 0, DEFAULT_PAGE_SIZE);
  }

  /** The revision the base copy was (or will be) read at; 0 before {@link #syncBase} when none was given. */
  public long revision() {
    return revision;
  }

  /**
   * Hands every key under the prefix, as of one revision, to {@code page} in pages of at most the page
   * size, in key order, and returns that revision. Blocking; each page read is bounded by the client's
   * deadline. Fails with {@link CompactedException} when the revision was compacted.
   */
  public long syncBase(Consumer<List<KeyValue>> page) {
    GetOption option = revision == 0 ? GetOption.prefix() : GetOption.builder().prefix().revision(revision).build();
    RangeIterator it = client.kv().iterate(prefix, option, pageSize);
    List<KeyValue> batch = new ArrayList<>(Math.min(pageSize, 1024));
    while (it.hasNext()) {
      batch.add(it.next());
      if (batch.size() == pageSize) {
        page.accept(batch);
        batch = new ArrayList<>(Math.min(pageSize, 1024));
      }
    }
    if (!batch.isEmpty()) {
      page.accept(batch);
    }
    if (revision == 0) {
      revision = it.revision() != 0 ? it.revision()
          : client.kv().get(prefix, GetOption.builder().prefix().countOnly().build()).join().header().revision();
    }
    return revision;
  }

  /**
   * Watches the prefix from the base revision + 1: every change after the base copy, in order, without
   * gaps or duplicates across reconnects. Call after {@link #syncBase}.
   */
  public Watcher syncUpdates(WatchListener listener) {
    if (revision == 0) {
      throw new IllegalStateException("syncUpdates needs a base revision: call syncBase first");
    }
    return client.watch().watch(prefix, WatchOption.builder().prefix().prevKv().revision(revision + 1).build(),
        listener);
  }
}
