package io.etcdrecipes.client;

/** What a range is sorted by. */
public enum SortTarget {
  KEY, VERSION, CREATE, MOD, VALUE
}
