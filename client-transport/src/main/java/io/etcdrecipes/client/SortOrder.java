package io.etcdrecipes.client;

/** The direction of a sorted range; {@code NONE} leaves etcd's default (ascending by key). */
public enum SortOrder {
  NONE, ASCEND, DESCEND
}
