package io.etcdrecipes.client;

import java.util.Objects;

/**
 * Which keys an option selects, shared by {@link GetOption}, {@link DeleteOption} and {@link WatchOption}:
 * one key, [key, end), every key with the key as prefix, or every key from the key on. The three choices
 * exclude each other; the last one given wins, as in Go.
 */
abstract class KeyRangeOption {

  private final ByteSequence end;
  private final boolean prefix;
  private final boolean fromKey;

  KeyRangeOption(Builder<?> b) {
    this.end = b.end;
    this.prefix = b.prefix;
    this.fromKey = b.fromKey;
  }

  /** The explicit range end, or {@code null}. */
  public ByteSequence end() {
    return end;
  }

  public boolean isPrefix() {
    return prefix;
  }

  public boolean isFromKey() {
    return fromKey;
  }

  /** The range end this option gives to {@code key}: {@code null} for a single key. */
  public ByteSequence rangeEnd(ByteSequence key) {
    return RangeEnds.of(key, end, prefix, fromKey);
  }

  /** The key actually sent for {@code key}: an empty key with prefix or from-key means "every key". */
  public ByteSequence rangeStart(ByteSequence key) {
    return RangeEnds.start(key, prefix, fromKey);
  }

  String rangeToString() {
    return "end=" + end + ", prefix=" + prefix + ", fromKey=" + fromKey;
  }

  /** The range part of the option builders. */
  abstract static class Builder<B extends Builder<B>> {
    ByteSequence end;
    boolean prefix;
    boolean fromKey;

    abstract B self();

    void copyRange(KeyRangeOption from) {
      this.end = from.end;
      this.prefix = from.prefix;
      this.fromKey = from.fromKey;
    }

    /** Keys in [key, end) (Go: {@code WithRange}). */
    public B range(ByteSequence end) {
      this.end = Objects.requireNonNull(end, "end");
      this.prefix = false;
      this.fromKey = false;
      return self();
    }

    /** Every key that starts with the key (Go: {@code WithPrefix}); with an empty key, every key. */
    public B prefix() {
      this.prefix = true;
      this.fromKey = false;
      this.end = null;
      return self();
    }

    /** Every key at or after the key (Go: {@code WithFromKey}). */
    public B fromKey() {
      this.fromKey = true;
      this.prefix = false;
      this.end = null;
      return self();
    }
  }
}
