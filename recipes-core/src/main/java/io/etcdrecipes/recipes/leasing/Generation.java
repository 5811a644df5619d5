package io.etcdrecipes.recipes.leasing;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionPolicy;

import java.util.concurrent.ConcurrentHashMap;

/** The leasing state that lives and dies with one session: its lease and the keys cached under it. */
final class Generation {

  final Session session;
  final long leaseId;
  final SessionPolicy policy;
  final ConcurrentHashMap<ByteSequence, Entry> entries = new ConcurrentHashMap<>();
  volatile boolean dead;

  Generation(Session session, SessionPolicy policy) {
    this.session = session;
    this.leaseId = session.leaseId();
    this.policy = policy;
  }

  /** May we serve from the cache and take new leasing keys now? Checked synchronously on every cached read. */
  boolean usable() {
    return !dead && session.isUsable(policy);
  }
}
