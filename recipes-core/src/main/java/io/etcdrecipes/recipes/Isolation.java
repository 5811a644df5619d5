package io.etcdrecipes.recipes;

/**
 * The isolation levels of {@link Stm}, with exactly the conflict checks of Go's STM
 * ({@code concurrency.SerializableSnapshot} ... {@code ReadCommitted}). From strongest to weakest:
 */
public enum Isolation {

  /**
   * Reads come from one snapshot: the first read is linearizable at the newest revision R, every later read
   * is served at R. The commit requires every key read to be unchanged (mod revision as read, or still
   * missing) and every key written to be unmodified since R ({@code modRevision < R + 1}). Prevents read
   * skew, lost updates and write skew, and also a blind write (a key written without being read) silently
   * overwriting a change made after the snapshot. The default.
   */
  SERIALIZABLE_SNAPSHOT,

  /**
   * Reads as {@link #SERIALIZABLE_SNAPSHOT} (one snapshot); the commit checks only the keys read. A key written
   * without being read can overwrite a change made after the snapshot (a blind write wins).
   */
  SERIALIZABLE,

  /**
   * Every read is a serializable (member-local) read of the newest revision, so two reads in one attempt may
   * see different revisions (read skew inside the function); the commit checks the keys read, so a committed
   * transaction never acted on stale reads.
   */
  REPEATABLE_READS,

  /**
   * Serializable reads of the newest revision, no checks at all: the commit always succeeds. Lost updates and
   * write skew can happen.
   */
  READ_COMMITTED
}
