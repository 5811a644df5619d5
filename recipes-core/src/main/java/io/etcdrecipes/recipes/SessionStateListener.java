package io.etcdrecipes.recipes;

/**
 * Hears about state changes of a {@link Session}. Called on the session's callback executor (never on a gRPC
 * thread, never while a lock of ours is held), one call at a time, in the order of the changes.
 */
@FunctionalInterface
public interface SessionStateListener {

  void stateChanged(Session session, SessionState newState);
}
