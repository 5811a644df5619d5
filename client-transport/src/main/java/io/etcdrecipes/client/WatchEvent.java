package io.etcdrecipes.client;

/**
 * One change seen by a watch. After a delete, {@code kv} holds the key and the delete's revision as its
 * mod revision; {@code prevKv} is set when the watch asked for it.
 */
public record WatchEvent(Type type, KeyValue kv, KeyValue prevKv) {

  public enum Type { PUT, DELETE }
}
