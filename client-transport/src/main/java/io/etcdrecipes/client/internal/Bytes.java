package io.etcdrecipes.client.internal;

import com.google.protobuf.ByteString;
import io.etcdrecipes.client.ByteSequence;

/**
 * Moves bytes between {@link ByteSequence} and the wire type without copying. The public type keeps its
 * wire representation private; it hands this bridge an accessor when it is first loaded.
 */
public final class Bytes {

  /** Implemented by {@link ByteSequence} only. */
  public interface Access {
    ByteString unwrap(ByteSequence sequence);

    ByteSequence wrap(ByteString bytes);
  }

  private static volatile Access access;

  private Bytes() {}

  /** Called once, by {@link ByteSequence}'s static initializer. */
  public static void install(Access bridge) {
    if (access != null) {
      throw new IllegalStateException("ByteSequence access is already installed");
    }
    access = bridge;
  }

  private static Access access() {
    Access a = access;
    if (a == null) {
      ByteSequence.EMPTY.size(); // loads ByteSequence, which installs the accessor
      a = access;
    }
    return a;
  }

  public static ByteString unwrap(ByteSequence sequence) {
    return access().unwrap(sequence);
  }

  public static ByteSequence wrap(ByteString bytes) {
    return access().wrap(bytes);
  }
}
