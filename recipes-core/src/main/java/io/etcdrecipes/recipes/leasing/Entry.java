package io.etcdrecipes.recipes.leasing;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.ResponseHeader;
import io.etcdrecipes.client.WatchEvent;
import io.etcdrecipes.client.Watcher;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * One cached key, owned by this client through its leasing key {@code pfx + key} (created at {@link #leaseRev}
 * on the generation's lease). Mutable fields are guarded by the entry's monitor.
 */
final class Entry {

  final Generation gen;
  final ByteSequence key;
  final ByteSequence leasingKey;
  // guarded by this
  /** Create revision of our leasing key: the guard of our own writes and of giving the key up. */
  long leaseRev;
  /** The acquire succeeded and the entry is in the generation's map. */
  boolean installed;
  /** Before {@link #installed}: the highest revision of an event of the key or its leasing key. */
  long earlyEventRev;
  boolean alive = true;
  /** The cached value, or {@code null} when the key does not exist. */
  KeyValue kv;
  /** The revision the cached value is known current at (header revision of cached gets). */
  long revision;
  ResponseHeader header;
  /** An own write in flight: cached reads wait for it. */
  CompletableFuture<Void> pending;
  /** Events of the key's watch that arrived while an own write was in flight. */
  List<WatchEvent> deferred;
  /** Revisions of our own successful writes of the key whose watch events have not arrived yet. */
  final Set<Long> ownRevs = new HashSet<>();
  Watcher keyWatch;
  Watcher leaseWatch;

  /** An entry being acquired: its watches run (from "now") before the acquire transaction is sent. */
  Entry(Generation gen, ByteSequence key, ByteSequence leasingKey) {
    this.gen = gen;
    this.key = key;
    this.leasingKey = leasingKey;
  }

  /**
   * The acquire transaction succeeded at {@code header.revision()}; returns false when an event after it
   * already arrived (the entry must then be evicted). Call under the monitor.
   */
  boolean installLocked(KeyValue kv, ResponseHeader header) {
    this.leaseRev = header.revision();
    this.kv = kv;
    this.header = header;
    this.revision = header.revision();
    this.installed = true;
    return earlyEventRev <= leaseRev;
  }

  /** The cached get response; call under the monitor. */
  GetResponse responseLocked() {
    ResponseHeader h = new ResponseHeader(header.clusterId(), header.memberId(), revision, header.raftTerm());
    return kv == null ? new GetResponse(h, List.of(), false, 0) : new GetResponse(h, List.of(kv), false, 1);
  }

  /**
   * The server said the key is {@code current} (keys only; null: absent) at {@code h}: if that is the cached
   * version, the cached value is known current at {@code h.revision()} and true is returned. Call under the
   * monitor.
   */
  boolean confirmLocked(KeyValue current, ResponseHeader h) {
    boolean same = kv == null
        ? current == null
        : current != null && current.modRevision() == kv.modRevision();
    if (same && h.revision() > revision) {
      revision = h.revision();
      header = h;
    }
    return same;
  }

  /** Applies our own successful put at revision {@code rev}; call under the monitor. */
  void putLocked(ByteSequence value, ResponseHeader h) {
    long rev = h.revision();
    if (rev <= revision) {
      return;
    }
    kv = kv == null
        ? new KeyValue(key, value, rev, rev, 1, 0)
        : new KeyValue(key, value, kv.createRevision(), rev, kv.version() + 1, 0);
    revision = rev;
    header = h;
  }

  /** Applies our own successful delete at revision {@code rev}; call under the monitor. */
  void deleteLocked(ResponseHeader h) {
    if (h.revision() <= revision) {
      return;
    }
    kv = null;
    revision = h.revision();
    header = h;
  }

  void deferLocked(WatchEvent event) {
    if (deferred == null) {
      deferred = new ArrayList<>();
    }
    deferred.add(event);
  }

  @Override
  public String toString() {
    return "Entry{" + key + ", leaseRev=" + leaseRev + ", rev=" + revision + "}";
  }
}
