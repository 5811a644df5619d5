package io.etcdrecipes.client;

import java.util.Objects;

/**
 * How a get reads: which keys (one, a range, a prefix, from a key on), at which revision, how many, in
 * which order, and what of each key comes back. Immutable; build with {@link #builder()}. The options and
 * their meaning are those of etcd's Go client ({@code clientv3.WithPrefix()}, {@code WithRev(n)} ...).
 */
public final class GetOption extends KeyRangeOption {

  /** A plain linearizable read of one key. */
  public static final GetOption DEFAULT = builder().build();

  private final long limit;
  private final long revision;
  private final SortTarget sortTarget;
  private final SortOrder sortOrder;
  private final boolean serializable;
  private final boolean keysOnly;
  private final boolean countOnly;
  private final long minModRevision;
  private final long maxModRevision;
  private final long minCreateRevision;
  private final long maxCreateRevision;

  private GetOption(Builder b) {
    super(b);
    this.limit = b.limit;
    this.revision = b.revision;
    this.sortTarget = b.sortTarget;
    this.sortOrder = b.sortOrder;
    this.serializable = b.serializable;
    this.keysOnly = b.keysOnly;
    this.countOnly = b.countOnly;
    this.minModRevision = b.minModRevision;
    this.maxModRevision = b.maxModRevision;
    this.minCreateRevision = b.minCreateRevision;
    this.maxCreateRevision = b.maxCreateRevision;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Every key that starts with the given key (Go: {@code WithPrefix}). */
  public static GetOption prefix() {
    return builder().prefix().build();
  }

  /** The key with the smallest name under the prefix (Go: {@code WithFirstKey}). */
  public static GetOption firstKey() {
    return builder().top(SortTarget.KEY, SortOrder.ASCEND).build();
  }

  /** The key with the largest name under the prefix (Go: {@code WithLastKey}). */
  public static GetOption lastKey() {
    return builder().top(SortTarget.KEY, SortOrder.DESCEND).build();
  }

  /** The oldest key under the prefix by create revision (Go: {@code WithFirstCreate}). */
  public static GetOption firstCreate() {
    return builder().top(SortTarget.CREATE, SortOrder.ASCEND).build();
  }

  /** The youngest key under the prefix by create revision (Go: {@code WithLastCreate}). */
  public static GetOption lastCreate() {
    return builder().top(SortTarget.CREATE, SortOrder.DESCEND).build();
  }

  /** The least recently modified key under the prefix (Go: {@code WithFirstRev}). */
  public static GetOption firstRevision() {
    return builder().top(SortTarget.MOD, SortOrder.ASCEND).build();
  }

  /** The most recently modified key under the prefix (Go: {@code WithLastRev}). */
  public static GetOption lastRevision() {
    return builder().top(SortTarget.MOD, SortOrder.DESCEND).build();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.copyRange(this);
    b.limit = limit;
    b.revision = revision;
    b.sortTarget = sortTarget;
    b.sortOrder = sortOrder;
    b.serializable = serializable;
    b.keysOnly = keysOnly;
    b.countOnly = countOnly;
    b.minModRevision = minModRevision;
    b.maxModRevision = maxModRevision;
    b.minCreateRevision = minCreateRevision;
    b.maxCreateRevision = maxCreateRevision;
    return b;
  }

  public long limit() {
    return limit;
  }

  public long revision() {
    return revision;
  }

  public SortTarget sortTarget() {
    return sortTarget;
  }

  public SortOrder sortOrder() {
    return sortOrder;
  }

  public boolean isSerializable() {
    return serializable;
  }

  public boolean isKeysOnly() {
    return keysOnly;
  }

  public boolean isCountOnly() {
    return countOnly;
  }

  public long minModRevision() {
    return minModRevision;
  }

  public long maxModRevision() {
    return maxModRevision;
  }

  public long minCreateRevision() {
    return minCreateRevision;
  }

  public long maxCreateRevision() {
    return maxCreateRevision;
  }

  @Override
  public String toString() {
    return "GetOption{" + rangeToString() + ", limit=" + limit
        + ", revision=" + revision + ", sort=" + sortTarget + "/" + sortOrder + ", serializable=" + serializable
        + ", keysOnly=" + keysOnly + ", countOnly=" + countOnly + "}";
  }

  /** Builds a {@link GetOption}. */
  public static final class Builder extends KeyRangeOption.Builder<Builder> {
    private long limit;
    private long revision;
    private SortTarget sortTarget = SortTarget.KEY;
    private SortOrder sortOrder = SortOrder.NONE;
    private boolean serializable;
    private boolean keysOnly;
    private boolean countOnly;
    private long minModRevision;
    private long maxModRevision;
    private long minCreateRevision;
    private long maxCreateRevision;

    private Builder() {}

    @Override
    Builder self() {
      return this;
    }

    public Builder range(String end) {
      return range(ByteSequence.of(end));
    }

    /** At most {@code limit} keys; 0 means no limit. */
    public Builder limit(long limit) {
      if (limit < 0) {
        throw new IllegalArgumentException("limit must be >= 0 (0 = no limit), got " + limit);
      }
      this.limit = limit;
      return this;
    }

    /** Read the store as it was at {@code revision}; 0 means the newest. */
    public Builder revision(long revision) {
      if (revision < 0) {
        throw new IllegalArgumentException("revision must be >= 0 (0 = newest), got " + revision);
      }
      this.revision = revision;
      return this;
    }

    /**
     * Sort the result. As in Go, ascending by key is etcd's natural order and is sent as "no sort", so that
     * the server can stop at the limit instead of reading the whole range.
     */
    public Builder sort(SortTarget target, SortOrder order) {
      this.sortTarget = Objects.requireNonNull(target, "target");
      this.sortOrder = target == SortTarget.KEY && order == SortOrder.ASCEND
          ? SortOrder.NONE : Objects.requireNonNull(order, "order");
      return this;
    }

    /** Serve the read from the member's local state, without a round through the leader (may be stale). */
    public Builder serializable() {
      return serializable(true);
    }

    public Builder serializable(boolean serializable) {
      this.serializable = serializable;
      return this;
    }

    /** Return keys without values. */
    public Builder keysOnly() {
      this.keysOnly = true;
      return this;
    }

    /** Return only the number of keys in the range. */
    public Builder countOnly() {
      this.countOnly = true;
      return this;
    }

    public Builder minModRevision(long revision) {
      this.minModRevision = nonNegative(revision, "minModRevision");
      return this;
    }

    public Builder maxModRevision(long revision) {
      this.maxModRevision = nonNegative(revision, "maxModRevision");
      return this;
    }

    public Builder minCreateRevision(long revision) {
      this.minCreateRevision = nonNegative(revision, "minCreateRevision");
      return this;
    }

    public Builder maxCreateRevision(long revision) {
      this.maxCreateRevision = nonNegative(revision, "maxCreateRevision");
      return this;
    }

    private Builder top(SortTarget target, SortOrder order) {
      return prefix().sort(target, order).limit(1);
    }

    public GetOption build() {
      return new GetOption(this);
    }

    private static long nonNegative(long value, String name) {
      if (value < 0) {
        throw new IllegalArgumentException(name + " must be >= 0, got " + value);
      }
      return value;
    }
  }
}
