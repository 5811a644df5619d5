package io.etcdrecipes.client;

/** An alarm raised by a member. */
public record Alarm(long memberId, AlarmType type) {}
