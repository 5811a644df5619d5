package io.etcdrecipes.client;

/**
 * What a watch sees: one key, a range, a prefix or everything from a key on; from which revision; with
 * previous values; without puts or deletes; with progress notifications; with large responses split into
 * fragments (reassembled before delivery); failing fast when the member has no leader.
 */
public final class WatchOption extends KeyRangeOption {

  public static final WatchOption DEFAULT = builder().build();

  private final long revision;
  private final boolean prevKv;
  private final boolean noPut;
  private final boolean noDelete;
  private final boolean progressNotify;
  private final boolean createdNotify;
  private final boolean fragment;
  private final boolean requireLeader;

  private WatchOption(Builder b) {
    super(b);
    this.revision = b.revision;
    this.prevKv = b.prevKv;
    this.noPut = b.noPut;
    this.noDelete = b.noDelete;
    this.progressNotify = b.progressNotify;
    this.createdNotify = b.createdNotify;
    this.fragment = b.fragment;
    this.requireLeader = b.requireLeader;
  }

  public static Builder builder() {
    return new Builder();
  }

  public static WatchOption prefix() {
    return builder().prefix().build();
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

  public boolean isCreatedNotify() {
    return createdNotify;
  }

  public boolean isFragment() {
    return fragment;
  }

  public boolean isRequireLeader() {
    return requireLeader;
  }

  /** Builds a {@link WatchOption}. */
  public static final class Builder extends KeyRangeOption.Builder<Builder> {
    private long revision;
    private boolean prevKv;
    private boolean noPut;
    private boolean noDelete;
    private boolean progressNotify;
    private boolean createdNotify;
    private boolean fragment;
    private boolean requireLeader;

    private Builder() {}

    @Override
    Builder self() {
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

    /**
     * Deliver the server's "created" answer to the listener as the first response (Go:
     * {@code WithCreatedNotify}); {@link Watcher#created()} completes either way.
     */
    public Builder createdNotify() {
      this.createdNotify = true;
      return this;
    }

    /** Let the server split responses larger than its request limit; they are reassembled here. */
    public Builder fragment() {
      this.fragment = true;
      return this;
    }

    /**
     * End this watch's stream when its member has no leader (and move it): the default for every watch unless the
     * client was built with {@code watchRequireLeader(false)}.
     */
    public Builder requireLeader() {
      this.requireLeader = true;
      return this;
    }

    public WatchOption build() {
      return new WatchOption(this);
    }
  }
}
