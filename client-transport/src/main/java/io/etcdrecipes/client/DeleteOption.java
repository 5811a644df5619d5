package io.etcdrecipes.client;

import java.util.Objects;

/** Which keys a delete removes (one, a range, a prefix, from a key on) and whether it returns them. */
public final class DeleteOption {

  public static final DeleteOption DEFAULT = builder().build();

  private final ByteSequence end;
  private final boolean prefix;
  private final boolean fromKey;
  private final boolean prevKv;

  private DeleteOption(Builder b) {
    this.end = b.end;
    this.prefix = b.prefix;
    this.fromKey = b.fromKey;
    this.prevKv = b.prevKv;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Every key that starts with the given key. */
  public static DeleteOption prefix() {
    return builder().prefix().build();
  }

  public ByteSequence end() {
    return end;
  }

  public boolean isPrefix() {
    return prefix;
  }

  public boolean isFromKey() {
    return fromKey;
  }

  public boolean isPrevKv() {
    return prevKv;
  }

  public ByteSequence rangeEnd(ByteSequence key) {
    return RangeEnds.of(key, end, prefix, fromKey);
  }

  public ByteSequence rangeStart(ByteSequence key) {
    return RangeEnds.start(key, prefix, fromKey);
  }

  @Override
  public String toString() {
    return "DeleteOption{end=" + end + ", prefix=" + prefix + ", fromKey=" + fromKey + ", prevKv=" + prevKv + "}";
  }

  /** Builds a {@link DeleteOption}. */
  public static final class Builder {
    private ByteSequence end;
    private boolean prefix;
    private boolean fromKey;
    private boolean prevKv;

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

    public Builder prevKv() {
      this.prevKv = true;
      return this;
    }

    public DeleteOption build() {
      return new DeleteOption(this);
    }
  }
}
