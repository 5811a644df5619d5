package io.etcdrecipes.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;

import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * An immutable sequence of bytes: the type of every etcd key and value.
 *
 * <p>Built from a {@code byte[]} (copied once, so later changes to the array do not leak in) or from a
 * {@code String} (UTF-8). Bytes received from etcd are wrapped without a copy. Ordering is etcd's:
 * unsigned lexicographic.
 */
public final class ByteSequence implements Comparable<ByteSequence> {

  /** The empty sequence. In a range end it means "no end" together with a non-empty start (from-key). */
  public static final ByteSequence EMPTY = new ByteSequence(ByteString.EMPTY);

  /** The single zero byte: as a range start together with {@link #EMPTY} as end it selects every key. */
  public static final ByteSequence NUL = new ByteSequence(ByteString.copyFrom(new byte[] {0}));

  static {
    io.etcdrecipes.client.internal.Bytes.install(new io.etcdrecipes.client.internal.Bytes.Access() {
      @Override
      public ByteString unwrap(ByteSequence sequence) {
        return sequence.bytes;
      }

      @Override
      public ByteSequence wrap(ByteString bytes) {
        return ByteSequence.wrap(bytes);
      }
    });
  }

  private final ByteString bytes;

  private ByteSequence(ByteString bytes) {
    this.bytes = bytes;
  }

  /** A copy of {@code bytes}. */
  public static ByteSequence of(byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes");
    return bytes.length == 0 ? EMPTY : new ByteSequence(ByteString.copyFrom(bytes));
  }

  /** The UTF-8 encoding of {@code text}. */
  public static ByteSequence of(String text) {
    Objects.requireNonNull(text, "text");
    return text.isEmpty() ? EMPTY : new ByteSequence(ByteString.copyFromUtf8(text));
  }

  /** The encoding of {@code text} in {@code charset}. */
  public static ByteSequence of(String text, Charset charset) {
    Objects.requireNonNull(text, "text");
    return of(text.getBytes(charset));
  }

  /** The remaining bytes of {@code buffer}, copied; the buffer's position is not changed. */
  public static ByteSequence of(ByteBuffer buffer) {
    return new ByteSequence(ByteString.copyFrom(buffer.duplicate()));
  }

  /** Wraps bytes that are known never to change, without a copy. Internal: not for users' arrays. */
  static ByteSequence wrap(ByteString bytes) {
    return bytes.isEmpty() ? EMPTY : new ByteSequence(bytes);
  }

  /** Wraps an array the caller promises never to modify again, without a copy. Internal. */
  static ByteSequence wrapUnsafe(byte[] bytes) {
    return bytes.length == 0 ? EMPTY : new ByteSequence(UnsafeByteOperations.unsafeWrap(bytes));
  }

  public int size() {
    return bytes.size();
  }

  public boolean isEmpty() {
    return bytes.isEmpty();
  }

  public byte byteAt(int index) {
    return bytes.byteAt(index);
  }

  /** A fresh copy of the bytes. */
  public byte[] toByteArray() {
    return bytes.toByteArray();
  }

  /** A read-only view of the bytes, without a copy. */
  public ByteBuffer asReadOnlyByteBuffer() {
    return bytes.asReadOnlyByteBuffer();
  }

  /** The bytes decoded as UTF-8 (malformed input is replaced, as {@link String#String(byte[], Charset)} does). */
  public String toStringUtf8() {
    return bytes.toStringUtf8();
  }

  public String toString(Charset charset) {
    return bytes.toString(charset);
  }

  public boolean startsWith(ByteSequence prefix) {
    return bytes.startsWith(prefix.bytes);
  }

  public ByteSequence concat(ByteSequence other) {
    return other.isEmpty() ? this : isEmpty() ? other : new ByteSequence(bytes.concat(other.bytes));
  }

  public ByteSequence concat(String other) {
    return concat(of(other));
  }

  public ByteSequence substring(int beginIndex, int endIndex) {
    return wrap(bytes.substring(beginIndex, endIndex));
  }

  public ByteSequence substring(int beginIndex) {
    return wrap(bytes.substring(beginIndex));
  }

  /**
   * The smallest key greater than every key that starts with this sequence: the range end that turns
   * this sequence into a prefix query, as etcd's Go client computes it. A sequence of only 0xff bytes
   * (or the empty one) has no such key; then the result is {@link #NUL}, which etcd reads as "to the end".
   */
  public ByteSequence prefixEnd() {
    byte[] end = bytes.toByteArray();
    for (int i = end.length - 1; i >= 0; i--) {
      if (end[i] != (byte) 0xff) {
        end[i]++;
        byte[] cut = new byte[i + 1];
        System.arraycopy(end, 0, cut, 0, i + 1);
        return wrapUnsafe(cut);
      }
    }
    return NUL;
  }

  @Override
  public int compareTo(ByteSequence other) {
    return ByteString.unsignedLexicographicalComparator().compare(bytes, other.bytes);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ByteSequence && ((ByteSequence) o).bytes.equals(bytes);
  }

  @Override
  public int hashCode() {
    return bytes.hashCode();
  }

  /** The bytes as UTF-8 text: keys and values are most often text, and this is what a log should show. */
  @Override
  public String toString() {
    return toStringUtf8();
  }
}
