package io.etcdrecipes.client.internal;

import com.google.protobuf.ByteString;
import io.etcdrecipes.client.ByteSequence;

/**
 * Puts keys on the wire and takes them off: with a namespace, every key, range end, compare and response
 * key is prefixed and unprefixed here, as etcd's Go {@code namespace} package does; without one, this is
 * the identity and costs nothing.
 */
public final class KeyCodec {

  public static final KeyCodec IDENTITY = new KeyCodec(ByteString.EMPTY);

  private static final ByteString NUL = ByteString.copyFrom(new byte[] {0});

  private final ByteString prefix;
  private final ByteString prefixEnd;

  private KeyCodec(ByteString prefix) {
    this.prefix = prefix;
    this.prefixEnd = prefix.isEmpty() ? NUL : Bytes.unwrap(Bytes.wrap(prefix).prefixEnd());
  }

  public static KeyCodec of(ByteSequence namespace) {
    return namespace == null || namespace.isEmpty() ? IDENTITY : new KeyCodec(Bytes.unwrap(namespace));
  }

  public boolean isIdentity() {
    return prefix.isEmpty();
  }

  public ByteSequence namespace() {
    return Bytes.wrap(prefix);
  }

  /** The wire key for a user key. The whole-keyspace start (a single NUL) becomes the namespace itself. */
  public ByteString key(ByteSequence key) {
    ByteString k = Bytes.unwrap(key);
    if (prefix.isEmpty()) {
      return k;
    }
    return k.equals(NUL) ? prefix : prefix.concat(k);
  }

  /**
   * The wire range end for a user range end: {@code null} (single key) stays absent, the keyspace edge
   * (a single NUL) becomes the end of the namespace.
   */
  public ByteString rangeEnd(ByteSequence end) {
    if (end == null) {
      return ByteString.EMPTY;
    }
    ByteString e = Bytes.unwrap(end);
    if (prefix.isEmpty()) {
      return e;
    }
    if (e.equals(NUL)) {
      return prefixEnd;
    }
    return e.isEmpty() ? ByteString.EMPTY : prefix.concat(e);
  }

  /** The user key for a wire key. */
  public ByteSequence userKey(ByteString wireKey) {
    if (prefix.isEmpty() || !wireKey.startsWith(prefix)) {
      return Bytes.wrap(wireKey);
    }
    return Bytes.wrap(wireKey.substring(prefix.size()));
  }
}
