package io.etcdrecipes.bench;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A lock-free log-linear latency histogram in nanoseconds: 64 sub-buckets per power of two, so every
 * recorded value is reported within 1.6 % of its true value. Constant memory, no allocation per record.
 */
final class Histogram {

  private static final int SUB_BITS = 6;
  private static final int SUB = 1 << SUB_BITS;
  private final AtomicLongArray counts = new AtomicLongArray(64 * SUB);

  void record(long nanos) {
    counts.incrementAndGet(index(Math.max(0, nanos)));
  }

  static int index(long v) {
    if (v < SUB) {
      return (int) v;
    }
    int exp = 63 - Long.numberOfLeadingZeros(v) - SUB_BITS; // >= 0: v >>> exp is in [SUB, 2 * SUB)
    int mantissa = (int) (v >>> exp) & (SUB - 1);
    return (exp + 1) * SUB + mantissa;
  }

  /** The middle of the bucket at {@code index}. */
  static long value(int index) {
    int exp = index / SUB;
    int mantissa = index % SUB;
    if (exp == 0) {
      return mantissa;
    }
    long low = ((long) (SUB | mantissa)) << (exp - 1);
    long width = 1L << (exp - 1);
    return low + width / 2;
  }

  long count() {
    long n = 0;
    for (int i = 0; i < counts.length(); i++) {
      n += counts.get(i);
    }
    return n;
  }

  /** The value at quantile {@code q} (0..1) in nanoseconds, or 0 when empty. */
  long quantile(double q) {
    long total = count();
    if (total == 0) {
      return 0;
    }
    long rank = Math.max(1, (long) Math.ceil(q * total));
    long seen = 0;
    for (int i = 0; i < counts.length(); i++) {
      seen += counts.get(i);
      if (seen >= rank) {
        return value(i);
      }
    }
    return value(counts.length() - 1);
  }

  /** The fraction of recorded values at or above {@code nanos} (0 when empty); exact to the bucket. */
  double fractionAtLeast(long nanos) {
    long total = count();
    if (total == 0) {
      return 0;
    }
    long above = 0;
    for (int i = index(Math.max(0, nanos)); i < counts.length(); i++) {
      above += counts.get(i);
    }
    return above / (double) total;
  }

  /** Adds {@code count} values to the bucket at {@code index} (buckets of another process's histogram of this layout). */
  void add(int index, long count) {
    if (index < 0 || index >= counts.length() || count < 0) {
      throw new IllegalArgumentException("bucket " + index + " count " + count);
    }
    counts.addAndGet(index, count);
  }

  void add(Histogram other) {
    for (int i = 0; i < counts.length(); i++) {
      long c = other.counts.get(i);
      if (c != 0) {
        counts.addAndGet(i, c);
      }
    }
  }
}
