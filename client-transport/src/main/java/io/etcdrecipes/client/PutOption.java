package io.etcdrecipes.client;

/**
 * How a put writes: attached to a lease, returning the previous key-value, or keeping the current value or
 * lease (Go: {@code WithLease}, {@code WithPrevKV}, {@code WithIgnoreValue}, {@code WithIgnoreLease}).
 */
public final class PutOption {

  public static final PutOption DEFAULT = builder().build();

  private final long leaseId;
  private final boolean prevKv;
  private final boolean ignoreValue;
  private final boolean ignoreLease;

  private PutOption(Builder b) {
    this.leaseId = b.leaseId;
    this.prevKv = b.prevKv;
    this.ignoreValue = b.ignoreValue;
    this.ignoreLease = b.ignoreLease;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A put attached to {@code leaseId}: the key is deleted when the lease ends. */
  public static PutOption lease(long leaseId) {
    return builder().lease(leaseId).build();
  }

  public long leaseId() {
    return leaseId;
  }

  public boolean isPrevKv() {
    return prevKv;
  }

  public boolean isIgnoreValue() {
    return ignoreValue;
  }

  public boolean isIgnoreLease() {
    return ignoreLease;
  }

  @Override
  public String toString() {
    return "PutOption{lease=" + Long.toHexString(leaseId) + ", prevKv=" + prevKv + ", ignoreValue=" + ignoreValue
        + ", ignoreLease=" + ignoreLease + "}";
  }

  /** Builds a {@link PutOption}. */
  public static final class Builder {
    private long leaseId;
    private boolean prevKv;
    private boolean ignoreValue;
    private boolean ignoreLease;

    private Builder() {}

    public Builder lease(long leaseId) {
      this.leaseId = leaseId;
      return this;
    }

    public Builder prevKv() {
      this.prevKv = true;
      return this;
    }

    /** Keep the key's current value (the put must carry an empty value); the key must exist. */
    public Builder ignoreValue() {
      this.ignoreValue = true;
      return this;
    }

    /** Keep the key's current lease (the put must carry no lease); the key must exist. */
    public Builder ignoreLease() {
      this.ignoreLease = true;
      return this;
    }

    public PutOption build() {
      if (ignoreLease && leaseId != 0) {
        throw new IllegalArgumentException("ignoreLease and lease(" + leaseId + ") exclude each other");
      }
      return new PutOption(this);
    }
  }
}
