package io.etcdrecipes.client;

import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Walks a large range page by page. Every page is read at the revision of the first one, so the walk sees
 * one snapshot of the store, and at most one page is held at a time. Each page is a blocking read bounded
 * by the KV's deadline; a failure is thrown as an {@link EtcdException} from {@link #hasNext()}. The
 * snapshot revision must not be compacted during the walk (that fails with {@link CompactedException}).
 */
public final class RangeIterator implements Iterator<KeyValue> {

  private final KV kv;
  private final ByteSequence end;
  private final GetOption pageOption;
  private final Duration timeout;
  private ByteSequence nextKey;
  private long revision;
  private List<KeyValue> page = List.of();
  private int index;
  private boolean more = true;

  /** Use {@link KV#iterate}. */
  public RangeIterator(KV kv, ByteSequence key, GetOption option, int pageSize, Duration timeout) {
    if (pageSize <= 0) {
      throw new IllegalArgumentException("pageSize must be > 0, got " + pageSize);
    }
    if (option.sortOrder() != SortOrder.NONE) {
      throw new IllegalArgumentException("a paged range is read in key order; sorting is not supported");
    }
    if (option.limit() != 0 || option.isCountOnly()) {
      throw new IllegalArgumentException("a paged range sets its own limit; count-only is not supported");
    }
    this.kv = kv;
    this.timeout = timeout;
    this.nextKey = option.rangeStart(key);
    ByteSequence e = option.rangeEnd(key);
    this.end = e == null ? nextKey.concat(ByteSequence.NUL) : e;
    this.revision = option.revision();
    this.pageOption = option.toBuilder().range(end).limit(pageSize).build();
  }

  /** The revision of the snapshot being walked (0 before the first page). */
  public long revision() {
    return revision;
  }

  @Override
  public boolean hasNext() {
    if (index < page.size()) {
      return true;
    }
    if (!more) {
      return false;
    }
    fetch();
    return index < page.size();
  }

  @Override
  public KeyValue next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    return page.get(index++);
  }

  private void fetch() {
    GetOption o = revision == 0 ? pageOption : pageOption.toBuilder().revision(revision).build();
    GetResponse r;
    try {
      r = kv.get(nextKey, o).get(timeout.toNanos() + TimeUnit.SECONDS.toNanos(1), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CancelledException(ErrorCode.CANCELLED, "interrupted while reading a page", null, e);
    } catch (ExecutionException e) {
      throw io.etcdrecipes.client.internal.Errors.toEtcdException(e);
    } catch (TimeoutException e) {
      throw new DeadlineExceededException(ErrorCode.DEADLINE_EXCEEDED, "page read timed out", null, e);
    }
    if (revision == 0) {
      revision = r.header().revision();
    }
    page = r.kvs();
    index = 0;
    more = r.more() && !page.isEmpty();
    if (!page.isEmpty()) {
      nextKey = page.get(page.size() - 1).key().concat(ByteSequence.NUL);
    }
  }
}
