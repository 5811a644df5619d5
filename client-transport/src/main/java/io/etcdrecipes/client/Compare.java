package io.etcdrecipes.client;

import java.util.Objects;

/**
 * One condition of a transaction: a key's (or a range's) value, version, create revision, mod revision or
 * lease compared with a constant. Start with the field, optionally widen to a range, then compare:
 * <pre>{@code
 * Compare.version(key).equal(0)                     // the key does not exist
 * Compare.modRevision(key).less(rev + 1)
 * Compare.createRevision(prefix).withPrefix().less(myRev)   // true for every key under the prefix
 * }</pre>
 */
public final class Compare {

  /** The field of the key that is compared. */
  public enum Target { VERSION, CREATE, MOD, VALUE, LEASE }

  /** The comparison. */
  public enum Result { EQUAL, GREATER, LESS, NOT_EQUAL }

  private final Target target;
  private final Result result;
  private final ByteSequence key;
  private final ByteSequence rangeEnd;
  private final long number;
  private final ByteSequence value;

  private Compare(Target target, Result result, ByteSequence key, ByteSequence rangeEnd, long number,
                  ByteSequence value) {
    this.target = target;
    this.result = result;
    this.key = key;
    this.rangeEnd = rangeEnd;
    this.number = number;
    this.value = value;
  }

  public static Field version(ByteSequence key) {
    return new Field(Target.VERSION, key);
  }

  public static Field createRevision(ByteSequence key) {
    return new Field(Target.CREATE, key);
  }

  public static Field modRevision(ByteSequence key) {
    return new Field(Target.MOD, key);
  }

  public static Field value(ByteSequence key) {
    return new Field(Target.VALUE, key);
  }

  public static Field lease(ByteSequence key) {
    return new Field(Target.LEASE, key);
  }

  /** The key exists (Go's {@code clientv3util.KeyExists}: version &gt; 0). */
  public static Compare keyExists(ByteSequence key) {
    return version(key).greater(0);
  }

  /** The key does not exist (Go's {@code clientv3util.KeyMissing}: version = 0). */
  public static Compare keyMissing(ByteSequence key) {
    return version(key).equal(0);
  }

  public Target target() {
    return target;
  }

  public Result result() {
    return result;
  }

  public ByteSequence key() {
    return key;
  }

  /** The end of the compared range, or {@code null} for one key. */
  public ByteSequence rangeEnd() {
    return rangeEnd;
  }

  /** The number compared with (version, revisions, lease). */
  public long number() {
    return number;
  }

  /** The value compared with, for {@link Target#VALUE}; else {@code null}. */
  public ByteSequence value() {
    return value;
  }

  @Override
  public String toString() {
    return target + "(" + key + (rangeEnd == null ? "" : ".." + rangeEnd) + ") " + result + " "
        + (value != null ? value : Long.toString(number));
  }

  /** A field of a key or range, waiting for its comparison. */
  public static final class Field {
    private final Target target;
    private final ByteSequence key;
    private ByteSequence rangeEnd;

    private Field(Target target, ByteSequence key) {
      this.target = target;
      this.key = Objects.requireNonNull(key, "key");
    }

    /** Compare every key in [key, end): the compare holds when it holds for each of them. */
    public Field withRange(ByteSequence end) {
      Field f = new Field(target, key);
      f.rangeEnd = Objects.requireNonNull(end, "end");
      return f;
    }

    /** Compare every key under the prefix {@code key}. */
    public Field withPrefix() {
      return withRange(key.isEmpty() ? ByteSequence.NUL : key.prefixEnd());
    }

    public Compare equal(long number) {
      return number(Result.EQUAL, number);
    }

    public Compare notEqual(long number) {
      return number(Result.NOT_EQUAL, number);
    }

    public Compare greater(long number) {
      return number(Result.GREATER, number);
    }

    public Compare less(long number) {
      return number(Result.LESS, number);
    }

    public Compare equal(ByteSequence value) {
      return value(Result.EQUAL, value);
    }

    public Compare equal(String value) {
      return value(Result.EQUAL, ByteSequence.of(value));
    }

    public Compare notEqual(ByteSequence value) {
      return value(Result.NOT_EQUAL, value);
    }

    public Compare greater(ByteSequence value) {
      return value(Result.GREATER, value);
    }

    public Compare less(ByteSequence value) {
      return value(Result.LESS, value);
    }

    private Compare number(Result result, long number) {
      if (target == Target.VALUE) {
        throw new IllegalArgumentException("a value compare takes bytes, not a number");
      }
      return new Compare(target, result, key, rangeEnd, number, null);
    }

    private Compare value(Result result, ByteSequence value) {
      if (target != Target.VALUE) {
        throw new IllegalArgumentException("a " + target + " compare takes a number, not bytes");
      }
      return new Compare(target, result, key, rangeEnd, 0, Objects.requireNonNull(value, "value"));
    }
  }
}
