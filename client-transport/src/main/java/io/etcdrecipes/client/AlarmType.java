package io.etcdrecipes.client;

/** The alarms a member can raise. {@code NONE} in a request means "any alarm". */
public enum AlarmType {
  /** No alarm; as a filter, any alarm. */
  NONE,
  /** The backend quota is used up: writes are refused until space is freed and the alarm disarmed. */
  NOSPACE,
  /** Members disagree on the store's contents. */
  CORRUPT
}
