package io.etcdrecipes.lock;

import io.etcdrecipes.client.ByteSequence;
import io.etcdrecipes.client.GetResponse;
import io.etcdrecipes.client.KeyValue;
import io.etcdrecipes.client.Op;
import io.etcdrecipes.recipes.Contender;
import io.etcdrecipes.recipes.ContentionPolicy;
import io.etcdrecipes.recipes.Session;
import io.etcdrecipes.recipes.SessionPolicy;
import io.etcdrecipes.recipes.Turn;
import io.etcdrecipes.recipes.internal.Names;

import java.util.List;
import java.util.Objects;

/**
 * A distributed read-write lock in the layout of Go's {@code recipe/rwmutex}: a reader's key is
 * {@code name/read/<unix nanos>}, a writer's {@code name/write/<unix nanos>}, both on the session's lease. Readers
 * share; a writer is exclusive. FIFO by create revision: a reader waits only for the youngest writer older than
 * itself (so a writer that came first is never overtaken by later readers), a writer for the youngest key of any
 * kind older than itself. Each waiter watches one key.
 *
 * <pre>{@code
 * ReadWriteLock rw = ReadWriteLock.create(session, "config/routes");
 * try (Ownership read = rw.readLock().lock(Duration.ofSeconds(5))) { ... }   // with other readers
 * try (Ownership write = rw.writeLock().lock(Duration.ofSeconds(5))) { ... } // alone
 * }</pre>
 *
 * <p>Each side is a {@link DistributedLock} with the same contract as {@link Mutex} (timeouts, interrupts and
 * cancellation leave nothing behind; fencing tokens; {@code lost()}). Every acquisition has its own key, so threads
 * of one JVM sharing a session need no local queue: readers share, a writer excludes them, as across processes.
 * There are no upgrades: a thread holding the read lock that asks for the write lock waits for itself.
 */
public final class ReadWriteLock {

  private final String name;
  private final Side read;
  private final Side write;

  private ReadWriteLock(Session session, String name, SessionPolicy policy) {
    Objects.requireNonNull(session, "session");
    ByteSequence prefix = Names.prefix(name, "name");
    Objects.requireNonNull(policy, "policy");
    this.name = name;
    ByteSequence all = prefix.concat("/");
    ByteSequence writers = prefix.concat("/write/");
    this.read = new Side(session, name + " (read)", prefix.concat("/read"), olderOf(writers), policy);
    this.write = new Side(session, name + " (write)", prefix.concat("/write"), olderOf(all), policy);
  }

  /** A read-write lock named {@code name}, lost when the session is suspended. */
  public static ReadWriteLock create(Session session, String name) {
    return new ReadWriteLock(session, name, SessionPolicy.SUSPENDED_IS_LOST);
  }

  public static ReadWriteLock create(Session session, String name, SessionPolicy policy) {
    return new ReadWriteLock(session, name, policy);
  }

  public String name() {
    return name;
  }

  /** The shared side: held together with other readers, never with a writer. */
  public DistributedLock readLock() {
    return read;
  }

  /** The exclusive side. */
  public DistributedLock writeLock() {
    return write;
  }

  /** Owns when no key under {@code range} is older; else waits for the delete of the youngest older one. */
  private static ContentionPolicy olderOf(ByteSequence range) {
    return new ContentionPolicy() {
      @Override
      public List<Op> reads(Contender me) {
        return List.of(ContentionPolicy.youngestOlder(range, me));
      }

      @Override
      public Turn decide(Contender me, List<GetResponse> results) {
        KeyValue ahead = results.get(0).first();
        return ahead == null ? Turn.owns() : Turn.awaitDelete(ahead.key());
      }
    };
  }

  /** One side: its key prefix and whom it waits for. */
  private static final class Side extends UniqueKeyLock {
    Side(Session session, String name, ByteSequence keyPrefix, ContentionPolicy queue, SessionPolicy policy) {
      super(session, name, keyPrefix, queue, policy, false);
    }
  }

  @Override
  public String toString() {
    return "ReadWriteLock{" + name + "}";
  }
}
