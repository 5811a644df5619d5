package io.etcdrecipes.testkit;

import java.util.Objects;

/**
 * One hold of a lock, a permit or a leadership term in a {@link History}: who held it, how, under which fencing
 * token, from when to when.
 *
 * <p>The instants are {@link System#nanoTime()}. The start is when acquire <em>returned</em> and the end is when
 * release was <em>invoked</em> (or the holder observed the loss, or the test killed it): both lie inside the
 * true hold, so two recorded holds that intersect really did overlap. Until {@link #released()} or {@link #lost()}
 * a hold is open and counts as lasting forever.
 */
public final class Hold {
    /** How a hold shares: {@link #READ} and {@link #PERMIT} holds may overlap each other, the others overlap nothing. */
    public enum Kind {
        /** A mutex or a leadership term. */
        EXCLUSIVE,
        /** The write side of a read-write lock. */
        WRITE,
        /** The read side of a read-write lock. */
        READ,
        /** One of a semaphore's permits. */
        PERMIT;

        /** True for {@link #EXCLUSIVE} and {@link #WRITE}. */
        public boolean exclusive() {
            return this == EXCLUSIVE || this == WRITE;
        }
    }

    /** How a hold ended. */
    public enum End {
        OPEN,
        RELEASED,
        LOST
    }

    private final History history;
    private final String owner;
    private final Kind kind;
    private final long token;
    private final long startNanos;
    private long endNanos = Long.MAX_VALUE;
    private End end = End.OPEN;

    Hold(History history, String owner, Kind kind, long token, long startNanos) {
        this.history = history;
        this.owner = Objects.requireNonNull(owner, "owner");
        this.kind = Objects.requireNonNull(kind, "kind");
        this.token = token;
        this.startNanos = startNanos;
    }

    public String owner() {
        return owner;
    }

    public Kind kind() {
        return kind;
    }

    /** The fencing token the holder was given (for our locks: the create revision of its key). */
    public long token() {
        return token;
    }

    /** When acquire returned ({@link System#nanoTime()}). */
    public long startNanos() {
        return startNanos;
    }

    /** When it ended ({@link System#nanoTime()}); {@link Long#MAX_VALUE} while open. */
    public synchronized long endNanos() {
        return endNanos;
    }

    public synchronized End end() {
        return end;
    }

    public synchronized boolean isOpen() {
        return end == End.OPEN;
    }

    /** Ends the hold now: call it just <em>before</em> invoking release. */
    public void released() {
        released(System.nanoTime());
    }

    /** Ends the hold at {@code atNanos} (a {@link System#nanoTime()} instant, from this JVM or a child). */
    public void released(long atNanos) {
        finish(End.RELEASED, atNanos);
    }

    /**
     * Ends the hold now because it was lost: call it when the holder observes the loss, or when the test kills the
     * holder's process — the last instant at which the holder could still act in its name.
     */
    public void lost() {
        lost(System.nanoTime());
    }

    /** Ends the hold at {@code atNanos} because it was lost. */
    public void lost(long atNanos) {
        finish(End.LOST, atNanos);
    }

    private synchronized void finish(End how, long atNanos) {
        if (end != End.OPEN) throw new IllegalStateException("hold already ended (" + end + "): " + this);
        if (atNanos < startNanos) {
            throw new IllegalArgumentException("a hold cannot end before it starts: " + history.at(atNanos) + " < " + this);
        }
        endNanos = atNanos;
        end = how;
    }

    @Override
    public String toString() {
        long e;
        End how;
        synchronized (this) {
            e = endNanos;
            how = end;
        }
        return owner + " " + kind + " token " + token + " [" + history.at(startNanos) + " .. "
                + (how == End.OPEN ? "open" : history.at(e) + " " + how.name().toLowerCase()) + "]";
    }
}
