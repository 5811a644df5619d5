package io.etcdrecipes.testkit;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The holds of a {@link History} at one moment ({@link History#holds()}), in the order they started, and the
 * checks on them. Each check throws an {@link AssertionError} naming the holds that break it, with their instants
 * in ms since the history started, and returns {@code this} so checks chain:
 * {@code history.holds().noOverlap().tokensIncrease()}.
 *
 * <p>Intervals are open at both ends: a hold that ends at the very instant another starts does not overlap it.
 * Open holds last forever. Holds of the same owner are checked like any others.
 */
public final class Holds {
    private final History history;
    private final List<Hold> holds;

    Holds(History history, List<Hold> holds) {
        this.history = history;
        List<Hold> sorted = new ArrayList<>(holds);
        sorted.sort(Comparator.comparingLong(Hold::startNanos));
        this.holds = List.copyOf(sorted);
    }

    /** The holds, in the order they started. */
    public List<Hold> list() {
        return holds;
    }

    public int size() {
        return holds.size();
    }

    /** No two holds, of any kind, overlap (a mutex, a leader election). */
    public Holds noOverlap() {
        sweep((starting, active) -> {
            if (!active.isEmpty()) fail("holds overlap", active.iterator().next(), starting);
        });
        return this;
    }

    /** Never more than {@code n} holds at once (a semaphore with {@code n} permits). */
    public Holds atMostConcurrent(int n) {
        if (n < 1) throw new IllegalArgumentException("n must be at least 1, was " + n);
        sweep((starting, active) -> {
            if (active.size() >= n) {
                StringBuilder sb = new StringBuilder((active.size() + 1) + " holds at once (at most " + n + " allowed) at "
                        + history.at(starting.startNanos()) + ":");
                for (Hold h : active) sb.append("\n  ").append(h);
                sb.append("\n  ").append(starting);
                throw new AssertionError(sb.toString());
            }
        });
        return this;
    }

    /**
     * A read-write lock's rule: an {@link Hold.Kind#exclusive() exclusive} hold (WRITE, EXCLUSIVE) overlaps no other
     * hold; READ (and PERMIT) holds may overlap each other.
     */
    public Holds readersWriters() {
        sweep((starting, active) -> {
            for (Hold h : active) {
                if (starting.kind().exclusive() || h.kind().exclusive()) fail("a writer overlaps another hold", h, starting);
            }
        });
        return this;
    }

    /**
     * Fencing tokens strictly increase in the order in which conflicting holds started: an exclusive hold's token is
     * above every earlier hold's, a shared (READ, PERMIT) hold's above every earlier exclusive hold's. Shared holds
     * are not ordered among themselves: a reader that queued first may return from acquire last.
     */
    public Holds tokensIncrease() {
        Hold maxAll = null;
        Hold maxExclusive = null;
        for (Hold h : holds) {
            Hold bound = h.kind().exclusive() ? maxAll : maxExclusive;
            if (bound != null && h.token() <= bound.token()) {
                fail("fencing token did not increase (" + bound.token() + " then " + h.token() + ")", bound, h);
            }
            if (maxAll == null || h.token() > maxAll.token()) maxAll = h;
            if (h.kind().exclusive() && (maxExclusive == null || h.token() > maxExclusive.token())) maxExclusive = h;
        }
        return this;
    }

    private interface OnStart {
        void check(Hold starting, Set<Hold> active);
    }

    /** Walks the holds in time order, telling each start which holds are active then; at equal instants ends go first. */
    private void sweep(OnStart onStart) {
        record Event(long at, boolean start, boolean empty, Hold hold) {}
        List<Event> events = new ArrayList<>();
        for (Hold h : holds) {
            long end = h.endNanos(); // read once: the hold may be released while we look
            events.add(new Event(h.startNanos(), true, end == h.startNanos(), h));
            if (end != Long.MAX_VALUE) events.add(new Event(end, false, false, h));
        }
        // stable sort: equal instants keep start order among starts
        events.sort(Comparator.comparingLong(Event::at).thenComparing(Event::start));
        Set<Hold> active = new LinkedHashSet<>();
        for (Event e : events) {
            if (e.start()) {
                onStart.check(e.hold(), active);
                if (!e.empty()) active.add(e.hold()); // its end event, at the same instant, came first
            } else {
                active.remove(e.hold());
            }
        }
    }

    private void fail(String what, Hold first, Hold second) {
        throw new AssertionError(what + " (ms since the history started):\n  " + first + "\n  " + second);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(holds.size() + " holds:");
        for (Hold h : holds) sb.append("\n  ").append(h);
        return sb.toString();
    }
}
