package io.etcdrecipes.election;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.GetOption;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.client.PutOption;
import io.etcdrecipes.client.SortOrder;
import io.etcdrecipes.client.SortTarget;
import io.etcdrecipes.recipes.Attempt;
import io.etcdrecipes.recipes.Contender;
import io.etcdrecipes.recipes.ContentionPolicy;
import io.etcdrecipes.recipes.Keys;
import io.etcdrecipes.recipes.OwnerKey;
import io.etcdrecipes.recipes.Ownership;
import io.etcdrecipes.recipes.OwnershipLostException;
import io.etcdrecipes.recipes.Registration;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionPolicy;
import io.etcdrecipes.recipes.internal.Blocking;
import io.etcdrecipes.recipes.internal.KeyCleanup;
import io.etcdrecipes.recipes.internal.LocalTurns;
import io.etcdrecipes.recipes.internal.Names;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Leader election, byte-compatible with Go's {@code concurrency.Election} and {@code etcdctl elect}: a candidate's
 * key is {@code name/<hex lease>} on its session's lease with its proposal as value; candidates queue by create
 * revision and the oldest leads. Java and Go processes see each other's leaders.
 *
 * <pre>{@code
 * Election election = Election.create(session, "services/scheduler");
 * try (Leadership term = election.campaign("node-1", Duration.ofMinutes(5))) {   // TimeoutException: nothing left
 *   term.onLost(why -> stopLeading());
 *   term.commit(client.kv(), Op.put(key, value)).join();                           // fenced by the term's token
 *   term.proclaim("node-1 (draining)");
 * }                                                                                 // resigned
 * Registration r = election.observe(leader -> log.info("leader: {}", leader.valueUtf8()));
 * }</pre>
 *
 * <p>{@link #campaign} waits like {@code Mutex.lock} (the same wait loop: only for the delete of the candidate right
 * ahead, from the read's revision + 1, re-checking that our key still exists, never winning on a session that is not
 * usable) and, as Go, proclaims at once when our key already existed with another value. Threads of one JVM sharing
 * a session and name queue locally, so one session is one candidate. A timed-out, interrupted or cancelled campaign
 * deletes its key before it returns. Thread-safe; holds no resources of its own.
 */
public final class Election {

  /** The largest value (proposal) accepted: etcd refuses requests above 1.5 MiB by default. */
  public static final int MAX_VALUE_BYTES = 1 << 20;

  private final Session session;
  private final String name;
  private final ByteSequence prefix;
  private final ByteSequence candidates;
  private final SessionPolicy policy;
  private final ContentionPolicy queue;

  private Election(Session session, String name, SessionPolicy policy) {
    this.session = Objects.requireNonNull(session, "session");
    this.prefix = Names.prefix(name, "name");
    this.name = name;
    this.candidates = Keys.ownerPrefix(prefix);
    this.policy = Objects.requireNonNull(policy, "policy");
    this.queue = ContentionPolicy.oldestOwns(candidates);
  }

  /** An election named {@code name} (Go's prefix); a term is lost when the session is suspended. */
  public static Election create(Session session, String name) {
    return new Election(session, name, SessionPolicy.SUSPENDED_IS_LOST);
  }

  public static Election create(Session session, String name, SessionPolicy policy) {
    return new Election(session, name, policy);
  }

  public String name() {
    return name;
  }

  public Session session() {
    return session;
  }

  /** This session's candidate key: {@code name/<hex lease>}. */
  public ByteSequence key() {
    return Keys.ownerKey(prefix, session.leaseId());
  }

  /**
   * Campaigns with {@code value} for at most {@code timeout}; on {@link TimeoutException} our key is already gone
   * (while etcd cannot be reached, it is deleted in the background once it can).
   */
  public Leadership campaign(ByteSequence value, Duration timeout) throws InterruptedException, TimeoutException {
    Blocking.checkTimeout(timeout, "timeout");
    checkValue(value);
    return term(attempt(value).await(timeout), value);
  }

  public Leadership campaign(String value, Duration timeout) throws InterruptedException, TimeoutException {
    return campaign(utf8(value), timeout);
  }

  /** Campaigns until elected or interrupted (our key deleted before {@link InterruptedException}). */
  public Leadership campaign(ByteSequence value) throws InterruptedException {
    checkValue(value);
    return term(attempt(value).await(), value);
  }

  public Leadership campaign(String value) throws InterruptedException {
    return campaign(utf8(value));
  }

  /** The campaign as a future; cancelling it gives the campaign up (our key deleted). */
  public CompletableFuture<Leadership> campaignAsync(ByteSequence value) {
    return campaignAsync(value, true);
  }

  /** For {@link Candidate}: its lost terms keep their keys until it resigns them, after its owner stopped. */
  CompletableFuture<Leadership> campaignAsync(ByteSequence value, boolean releaseWhenLost) {
    checkValue(value);
    Attempt a = releaseWhenLost ? attempt(value)
        : Attempt.ownerKeyKeptWhenLost(session, prefix, value, queue, policy, Attempt.Mode.WAIT,
            existing -> proclaimIfOther(existing, value));
    // any completion of the returned future but the attempt's own (orTimeout, a cancel...) gives the campaign up
    return Blocking.giveUpUnlessOwnOutcome(a.result().thenApply(o -> term(o, value)), a::abandon,
        Leadership::resignAsync);
  }

  public CompletableFuture<Leadership> campaignAsync(String value) {
    return campaignAsync(utf8(value));
  }

  /**
   * Takes up a term this session already holds (Go's {@code ResumeElection}), e.g. after a restart that resumed the
   * session's lease: our key must still exist with {@code createRevision}, else {@link OwnershipLostException}; and it
   * must be the oldest candidate (the leader), else {@link IllegalStateException}: this session is a candidate,
   * not the leader (Go's {@code ResumeElection} does not check, and hands a candidate a leader's handle). The key is
   * left in place then: {@link #campaign} on this session takes it up and waits for its turn.
   */
  public Leadership resume(long createRevision) throws InterruptedException {
    io.etcdrecipes.client.TxnResponse r;
    try { // the read bounded; the term is taken up here, after it, so that a timeout leaves nothing taken up
      r = Blocking.await(resumeRead(), session.client().config().callTimeout().plusSeconds(1));
    } catch (TimeoutException e) {
      throw new io.etcdrecipes.client.DeadlineExceededException(io.etcdrecipes.client.ErrorCode.DEADLINE_EXCEEDED,
          "resume: no answer in time", null, e);
    }
    return resumed(r, createRevision, new AtomicBoolean());
  }

  /**
   * {@link #resume(long)} as a future (one read); fails with the exceptions {@code resume} throws. Completing or
   * cancelling the returned future first takes nothing up: the term's key stays, for a later {@code resume}.
   */
  public CompletableFuture<Leadership> resumeAsync(long createRevision) {
    CompletableFuture<Leadership> result = new CompletableFuture<>();
    resumeRead().whenComplete((r, t) -> {
      if (result.isDone()) {
        return; // the caller gave up: nothing taken up, the key stays
      }
      if (t != null) {
        result.completeExceptionally(Blocking.unwrap(t));
        return;
      }
      AtomicBoolean keepKey = new AtomicBoolean();
      Leadership l;
      try {
        l = resumed(r, createRevision, keepKey);
      } catch (RuntimeException e) {
        result.completeExceptionally(e);
        return;
      }
      if (!result.complete(l)) { // the caller gave up just now: let go of the handle, keep the key
        keepKey.set(true);
        l.resignAsync();
      }
    });
    return result;
  }

  /** Our key and the oldest candidate, in one read. */
  private CompletableFuture<io.etcdrecipes.client.TxnResponse> resumeRead() {
    return session.client().kv().txn().then(Op.get(key()), Op.get(candidates, GetOption.firstCreate())).commit();
  }

  /** Takes the term up from {@code r}; releasing it deletes the key unless {@code keepKey} is set by then. */
  private Leadership resumed(io.etcdrecipes.client.TxnResponse r, long createRevision, AtomicBoolean keepKey) {
    ByteSequence key = key();
    KeyValue kv = r.getResponse(0).first();
    KeyValue oldest = r.getResponse(1).first();
    if (kv == null || kv.createRevision() != createRevision || kv.lease() != session.leaseId()) {
      throw new OwnershipLostException(key, createRevision, OwnershipLostException.Reason.KEY_GONE,
          "resume: the key is gone, re-created or on another lease", null);
    }
    if (oldest == null || oldest.createRevision() != createRevision) {
      throw new IllegalStateException("resume: " + key.toStringUtf8() + " is a candidate, not the leader ("
          + (oldest == null ? "?" : oldest.key().toStringUtf8()) + " leads); campaign on this session to wait for the"
          + " term");
    }
    LocalTurns.Turn turn = LocalTurns.tryAcquire(session, key);
    if (turn == null) {
      throw new IllegalStateException("this session is already campaigning in " + name + " (one candidate per session)");
    }
    Contender me = new Contender(key, createRevision);
    Ownership o = Ownership.start(session, policy, me, kv.modRevision(), held -> {
      if (keepKey.get()) {
        turn.release();
        return CompletableFuture.completedFuture(false);
      }
      return KeyCleanup.releaseHeld(session.client().kv(), session, me, turn::release);
    });
    return new Leadership(session, o, kv.value());
  }

  /** The current leader, or empty when there is no candidate (a linearizable read). */
  public CompletableFuture<Optional<LeaderInfo>> leaderAsync() {
    return session.client().kv().get(candidates, GetOption.firstCreate()).thenApply(r -> {
      KeyValue kv = r.first();
      return kv == null ? Optional.empty()
          : Optional.of(new LeaderInfo(kv.key(), kv.value(), kv.createRevision(), kv.modRevision(), r.header().revision()));
    });
  }

  /** {@link #leaderAsync()} bounded by the client's call timeout. */
  public Optional<LeaderInfo> leader() throws InterruptedException {
    return await(leaderAsync());
  }

  /** Every candidate, leader first (by create revision). */
  public List<LeaderInfo> candidates() throws InterruptedException {
    GetOption all = GetOption.builder().prefix().sort(SortTarget.CREATE, SortOrder.ASCEND).build();
    return await(session.client().kv().get(candidates, all).thenApply(r -> {
      List<LeaderInfo> out = new ArrayList<>();
      for (KeyValue kv : r.kvs()) {
        out.add(new LeaderInfo(kv.key(), kv.value(), kv.createRevision(), kv.modRevision(), r.header().revision()));
      }
      return out;
    }));
  }

  /**
   * Follows the leaders: {@code listener} hears the current leader (or that there is none) first, then every new
   * leader and every proclaimed value, in revision order, once each — also across reconnects. Close the registration
   * to stop.
   */
  public Registration observe(LeaderListener listener) {
    LeaderObserver o = new LeaderObserver(session.client(), candidates, Objects.requireNonNull(listener, "listener"));
    o.start();
    return o;
  }

  private Attempt attempt(ByteSequence value) {
    return Attempt.ownerKey(session, prefix, value, queue, policy, Attempt.Mode.WAIT, existing -> proclaimIfOther(existing, value));
  }

  /** Go: when our key already existed with another value, proclaim ours before waiting. */
  private CompletableFuture<?> proclaimIfOther(OwnerKey existing, ByteSequence value) {
    if (existing.created() || existing.value().equals(value)) {
      return CompletableFuture.completedFuture(null);
    }
    return existing.guard().txn(session.client().kv())
        .then(Op.put(existing.key(), value, PutOption.lease(session.leaseId()))).commit().thenAccept(r -> {
          if (!r.succeeded()) {
            throw new OwnershipLostException(existing.key(), existing.createRevision(),
                OwnershipLostException.Reason.KEY_GONE, "our candidate key vanished before its proclaim", null);
          }
        });
  }

  private Leadership term(Ownership o, ByteSequence value) {
    return new Leadership(session, o, value);
  }

  private <T> T await(CompletableFuture<T> f) throws InterruptedException {
    try {
      return Blocking.await(f, session.client().config().callTimeout().plusSeconds(1));
    } catch (TimeoutException e) {
      throw new io.etcdrecipes.client.DeadlineExceededException(io.etcdrecipes.client.ErrorCode.DEADLINE_EXCEEDED,
          "election " + name + ": no answer in time", null, e);
    }
  }

  static ByteSequence utf8(String value) {
    if (value == null) {
      throw new IllegalArgumentException("value must not be null");
    }
    return ByteSequence.of(value);
  }

  /** A proposal: not null, not empty, at most {@link #MAX_VALUE_BYTES}. */
  static void checkValue(ByteSequence value) {
    if (value == null) {
      throw new IllegalArgumentException("value must not be null");
    }
    if (value.isEmpty()) {
      throw new IllegalArgumentException("value must not be empty (it tells observers who leads)");
    }
    if (value.size() > MAX_VALUE_BYTES) {
      throw new IllegalArgumentException("value is " + value.size() + " bytes; at most " + MAX_VALUE_BYTES);
    }
  }

  @Override
  public String toString() {
    return "Election{" + name + ", lease=" + Long.toHexString(session.leaseId()) + "}";
  }
}
