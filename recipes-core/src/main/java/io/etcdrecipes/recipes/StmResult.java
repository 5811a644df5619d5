package io.etcdrecipes.recipes;

/**
 * A committed {@link Stm} transaction.
 *
 * @param value what the function returned on the attempt that committed
 * @param revision the revision of the commit (for a transaction that wrote nothing: the revision it was
 *     validated at)
 * @param attempts how many times the function ran (1 + the number of conflicts)
 */
public record StmResult<T>(T value, long revision, int attempts) {}
