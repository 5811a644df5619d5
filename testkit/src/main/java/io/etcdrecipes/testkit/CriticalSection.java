package io.etcdrecipes.testkit;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The work a test does while it holds a lock, a permit or a leadership term: each {@link #enter turn} is recorded in
 * a {@link History} as a {@link Hold} that spans it, and a second witness, which does not depend on instants, sees
 * broken exclusion directly: a counter that every exclusive turn reads when it starts and writes (plus one) when it
 * ends, with no synchronisation of its own. Two exclusive turns that overlap both read the same value and one
 * increment is lost; a {@link Hold.Kind#READ READ} turn reads it when it starts and again when it ends, and a
 * writer in between shows as a change. A gauge counts the turns open at once ({@link #maxConcurrent()}).
 *
 * <p>A hold recorded on the line after acquire returned and released on the next one is almost empty, and a checker
 * can hardly see two of them overlap even when a lock lets everyone in. So the turn spans real work — calls made in
 * the lock's name, a read-modify-write of a shared key — done between {@link #enter} (just <em>after</em> acquire
 * returned) and {@link Turn#close()} (just <em>before</em> the release), and the test shows with a negative control
 * that its checks fail when exclusion is broken (the same scenario with a lock that lets two in).
 *
 * <pre>{@code
 * History history = new History();
 * CriticalSection section = new CriticalSection(history);
 * // in each worker:
 * try (Ownership o = mutex.lock(timeout);                                          // closed last
 *      CriticalSection.Turn turn = section.enter("w1", Hold.Kind.EXCLUSIVE, o.fencingToken())) {
 *     get(o.commit(kv, Op.put(key, value)));                                        // the work, in the lock's name
 * }
 * // at the end:
 * section.noLostUpdates();
 * history.holds().noOverlap().tokensIncrease();
 * }</pre>
 *
 * {@link Hold.Kind#PERMIT PERMIT} turns touch neither the counter nor anything but the gauge: permits may overlap each
 * other (check them with {@link Holds#atMostConcurrent(int)} and {@link #maxConcurrent()}).
 */
public final class CriticalSection {
    private final History history;
    /** Read and written separately (get, later set): a read-modify-write with no lock of its own. */
    private final AtomicLong counter = new AtomicLong();
    private final AtomicInteger inside = new AtomicInteger();
    private final AtomicInteger maxInside = new AtomicInteger();
    private final AtomicInteger turns = new AtomicInteger();
    private final AtomicInteger exclusiveDone = new AtomicInteger();
    private final List<String> disturbedReads = new CopyOnWriteArrayList<>();

    public CriticalSection(History history) {
        this.history = Objects.requireNonNull(history, "history");
    }

    /** The history the turns are recorded in. */
    public History history() {
        return history;
    }

    /**
     * Starts a turn now: records the hold ({@link History#acquired(String, Hold.Kind, long)}) and, for an exclusive
     * kind, reads the counter. Call it just <em>after</em> acquire returned; close the turn just <em>before</em>
     * releasing.
     */
    public Turn enter(String owner, Hold.Kind kind, long token) {
        Hold hold = history.acquired(owner, kind, token);
        int now = inside.incrementAndGet();
        maxInside.accumulateAndGet(now, Math::max);
        turns.incrementAndGet();
        return new Turn(hold, kind == Hold.Kind.PERMIT ? 0 : counter.get());
    }

    /** One turn; {@link #close()} ends it (idempotent). */
    public final class Turn implements AutoCloseable {
        private final Hold hold;
        private final long read;
        private final AtomicBoolean closed = new AtomicBoolean();

        private Turn(Hold hold, long read) {
            this.hold = hold;
            this.read = read;
        }

        /** The hold recorded for this turn. */
        public Hold hold() {
            return hold;
        }

        /**
         * Ends the turn: an exclusive turn writes the counter it read plus one, a READ turn reads it again; then the
         * gauge goes down and the hold is released. Call it just <em>before</em> releasing the lock.
         */
        @Override
        public void close() {
            if (!closed.compareAndSet(false, true)) return;
            Hold.Kind kind = hold.kind();
            if (kind.exclusive()) {
                counter.set(read + 1);
                exclusiveDone.incrementAndGet();
            } else if (kind == Hold.Kind.READ) {
                long now = counter.get();
                if (now != read) {
                    disturbedReads.add(hold + ": the counter went from " + read + " to " + now + " during the turn");
                }
            }
            inside.decrementAndGet();
            hold.released();
        }
    }

    /** How many turns were entered. */
    public int turns() {
        return turns.get();
    }

    /** The most turns that were open at once. */
    public int maxConcurrent() {
        return maxInside.get();
    }

    /** How many exclusive turns' increments were lost (0 when no two exclusive turns overlapped). */
    public long lostUpdates() {
        return exclusiveDone.get() - counter.get();
    }

    /**
     * Every ended exclusive turn's increment survived and no READ turn saw the counter change: else an
     * {@link AssertionError} says how many were lost and which reads were disturbed. Returns {@code this}.
     */
    public CriticalSection noLostUpdates() {
        long lost = lostUpdates();
        if (lost != 0 || !disturbedReads.isEmpty()) {
            StringBuilder sb = new StringBuilder("exclusion broken: " + lost + " of " + exclusiveDone.get()
                    + " exclusive turns' increments were lost (two exclusive turns overlapped), "
                    + disturbedReads.size() + " read turn(s) saw a write");
            disturbedReads.stream().limit(5).forEach(d -> sb.append("\n  ").append(d));
            throw new AssertionError(sb.toString());
        }
        return this;
    }

    @Override
    public String toString() {
        return turns.get() + " turns, at most " + maxInside.get() + " at once, " + lostUpdates() + " lost updates, "
                + disturbedReads.size() + " disturbed reads";
    }
}
