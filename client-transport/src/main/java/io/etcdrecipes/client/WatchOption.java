package io.etcdrecipes.client;

import java.util.Objects;

/**
 * What a watch sees: one key, a range, a prefix or everything from a key on; from which revision; with
 * previous values; without puts or deletes; with progress notifications; with large responses split into
 * fragments (reassembled before delivery); failing fast when the member has no leader.
 */
public final class WatchOption {

  public static final WatchOption DEFAULT = builder().build();

  private final ByteSequence end;
  private final boolean prefix;
  private final boolean fromKey;
  private final long revision;
  private final boolean prevKv;
  private final boolean noPut;
  private final boolean noDelete;
  private final boolean progressNotify;
  private final boolean fragment;
  private final boolean requireLeader;

  private WatchOption(Builder b) {
    this.end = b.end;
    this.prefix = b.prefix;
    this.fromKey = b.fromKey;
    this.revision = b.revision;
    this.prevKv = b.prevKv;
    this.noPut = b.noPut;
    this.noDelete = b.noDelete;
    this.progressNotify = b.progressNotify;
    this.fragment = b.fragment;
    this.requireLeader = b.requireLeader;
  }

  public static Builder builder() {
    return new Builder();
  }

  public static WatchOption prefix() {
    return builder().prefix().build();
  }

  public ByteSequence rangeEnd(ByteSequence key) {
    return RangeEnds.of(key, end, prefix, fromKey);
  }

  public ByteSequence rangeStart(ByteSequence key) {
    return RangeEnds.start(key, prefix, fromKey);
  }

  public boolean isPrefix() {
    return prefix;
  }

  public boolean isFromKey() {
    return fromKey;
  }

  /** The first revision to deliver, or 0 for "from now on". */
  public long revision() {
    return revision;
  }

  public boolean isPrevKv() {
    return prevKv;
  }

  public boolean isNoPut() {
    return noPut;
  }

  public boolean isNoDelete() {
    return noDelete;
  }

  public boolean isProgressNotify() {
    return progressNotify;
  }

  public boolean isFragment() {
    return fragment;
  }

  public boolean isRequireLeader() {
    return requireLeader;
  }

  /** Builds a {@link WatchOption}. */
  public static final class Builder {
    private ByteSequence end;
    private boolean prefix;
    private boolean fromKey;
    private long revision;
    private boolean prevKv;
    private boolean noPut;
    private boolean noDelete;
    private boolean progressNotify;
    private boolean fragment;
    private boolean requireLeader;

    private Builder() {}

    public Builder range(ByteSequence end) {
      this.end = Objects.requireNonNull(end, "end");
      this.prefix = false;
      this.fromKey = false;
      return this;
    }

    public Builder prefix() {
      this.prefix = true;
      this.fromKey = false;
      this.end = null;
      return this;
    }

    public Builder fromKey() {
      this.fromKey = true;
      this.prefix = false;
      this.end = null;
      return this;
    }

    /**
     * Deliver events from {@code revision} on; 0 (the default) means "from now", not "from the start".
     * A compacted revision ends the watch with a {@link CompactedException}.
     */
    public Builder revision(long revision) {
      if (revision < 0) {
        throw new IllegalArgumentException("revision must be >= 0, got " + revision);
      }
      this.revision = revision;
      return this;
    }

    public Builder prevKv() {
      this.prevKv = true;
      return this;
    }

    public Builder noPut() {
      this.noPut = true;
      return this;
    }

    public Builder noDelete() {
      this.noDelete = true;
      return this;
    }

    public Builder progressNotify() {
      this.progressNotify = true;
      return this;
    }

    /** Let the server split responses larger than its request limit; they are reassembled here. */
    public Builder fragment() {
      this.fragment = true;
      return this;
    }

    public Builder requireLeader() {
      this.requireLeader = true;
      return this;
    }

    public WatchOption build() {
      return new WatchOption(this);
    }
  }
}
