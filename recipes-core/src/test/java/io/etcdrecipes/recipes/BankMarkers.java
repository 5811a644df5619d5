package io.etcdrecipes.recipes;

import io.etcdrecipes.client.KeyValue;

import java.util.Arrays;
import java.util.List;

/**
 * The bank tests' marker keys: each applied transfer writes one, valued {@code "from,to,amount"}, in the same
 * transaction as the two balances. Replaying the markers gives the balances the accounts must hold.
 */
final class BankMarkers {

  private BankMarkers() {}

  static long[] expectedBalances(List<KeyValue> markers, int accounts, long initial) {
    long[] expected = new long[accounts];
    Arrays.fill(expected, initial);
    for (KeyValue m : markers) {
      String[] f = m.value().toStringUtf8().split(",");
      expected[Integer.parseInt(f[0])] -= Long.parseLong(f[2]);
      expected[Integer.parseInt(f[1])] += Long.parseLong(f[2]);
    }
    return expected;
  }
}
