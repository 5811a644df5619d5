package io.etcdrecipes.client;

/** Which keys a delete removes (one, a range, a prefix, from a key on) and whether it returns them. */
public final class DeleteOption extends KeyRangeOption {

  public static final DeleteOption DEFAULT = builder().build();

  private final boolean prevKv;

  private DeleteOption(Builder b) {
    super(b);
    this.prevKv = b.prevKv;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Every key that starts with the given key. */
  public static DeleteOption prefix() {
    return builder().prefix().build();
  }

  public boolean isPrevKv() {
    return prevKv;
  }

  @Override
  public String toString() {
    return "DeleteOption{" + rangeToString() + ", prevKv=" + prevKv + "}";
  }

  /** Builds a {@link DeleteOption}. */
  public static final class Builder extends KeyRangeOption.Builder<Builder> {
    private boolean prevKv;

    private Builder() {}

    @Override
    Builder self() {
      return this;
    }

    public Builder prevKv() {
      this.prevKv = true;
      return this;
    }

    public DeleteOption build() {
      return new DeleteOption(this);
    }
  }
}
