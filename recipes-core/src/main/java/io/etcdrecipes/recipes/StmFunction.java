package io.etcdrecipes.recipes;

/**
 * The body of an {@link Stm} transaction. It may run several times (once per conflict), so it must have no
 * effects outside {@code tx}. Throwing aborts the transaction: nothing is committed and the exception
 * reaches the caller.
 *
 * @param <T> the result
 * @param <X> what the function may throw (inferred; {@code RuntimeException} when it throws nothing checked)
 */
@FunctionalInterface
public interface StmFunction<T, X extends Exception> {

  T apply(StmTx tx) throws X;
}
