package io.etcdrecipes.client;

/** How prefix and from-key turn into etcd's [key, range_end) pairs, exactly as Go's client computes them. */
final class RangeEnds {

  private RangeEnds() {}

  static ByteSequence start(ByteSequence key, boolean prefix, boolean fromKey) {
    return (prefix || fromKey) && key.isEmpty() ? ByteSequence.NUL : key;
  }

  static ByteSequence of(ByteSequence key, ByteSequence end, boolean prefix, boolean fromKey) {
    if (end != null) {
      return end;
    }
    if (prefix) {
      return key.isEmpty() ? ByteSequence.NUL : key.prefixEnd();
    }
    if (fromKey) {
      return ByteSequence.NUL;
    }
    return null;
  }
}
