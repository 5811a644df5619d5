package io.etcdrecipes.testkit;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A thread-safe record of what happened in a test, checked afterwards (in the spirit of Jepsen's histories and
 * Knossos, kept simple and exact). Three kinds of record, each with its checks:
 *
 * <ul>
 *   <li><b>Holds</b> of locks, permits and leadership terms: {@link #acquired} returns a {@link Hold} that the
 *       test ends with {@link Hold#released()} or {@link Hold#lost()}; {@link #holds()} checks
 *       {@link Holds#noOverlap() noOverlap}, {@link Holds#atMostConcurrent(int) atMostConcurrent(n)},
 *       {@link Holds#readersWriters() readersWriters} and {@link Holds#tokensIncrease() tokensIncrease}.</li>
 *   <li><b>Operations</b> with invoke and complete instants and an outcome ({@link #invoke}, {@link Op}), for the
 *       checks a test writes itself over {@link #ops()}.</li>
 *   <li><b>Deliveries</b> of a queue: {@link #enqueued}, {@link #enqueueUnknown}, {@link #delivered};
 *       {@link #deliveries()} checks {@link Deliveries#exactlyOnce() exactlyOnce}, {@link Deliveries#atLeastOnce() atLeastOnce},
 *       {@link Deliveries#atMostOnce() atMostOnce} and {@link Deliveries#fifoPerProducer() fifoPerProducer}.</li>
 * </ul>
 * (A log that holders appended to under a guard is checked with {@link GuardedLog}.)
 *
 * <pre>{@code
 * History history = new History();
 * // in each worker thread:
 * long token = lock.lock();                          // returns the fencing token
 * Hold hold = history.acquired("worker-" + i, token);
 * ...
 * hold.released();                                   // just before releasing
 * lock.unlock();
 * // at the end:
 * history.holds().noOverlap().tokensIncrease();
 * }</pre>
 *
 * <h2>Instants</h2>
 * Every instant is {@link System#nanoTime()}. On Linux that is {@code CLOCK_MONOTONIC}: one clock for the whole
 * machine, counted from boot, never adjusted backwards, so instants taken in a {@link ChildJvm} (printed on its
 * stdout) can be merged into the parent's history with the methods that take {@code atNanos}. Messages show
 * instants as milliseconds since the history was created.
 */
public final class History {
    private final long startNanos = System.nanoTime();
    private final List<Hold> holds = new ArrayList<>();
    private final List<Op> ops = new ArrayList<>();
    private final List<Deliveries.Enqueue> enqueues = new ArrayList<>();
    private final Set<Object> enqueuedItems = new HashSet<>();
    private final List<Deliveries.Delivery> deliveries = new ArrayList<>();

    /** When this history was created ({@link System#nanoTime()}); messages count from here. */
    public long startNanos() {
        return startNanos;
    }

    /** An instant as milliseconds since this history started, for messages: {@code "12.345 ms"}. */
    public String at(long nanos) {
        if (nanos == Long.MAX_VALUE) return "open";
        return String.format("%.3f ms", (nanos - startNanos) / 1e6);
    }

    // ------------------------------------------------------------------ holds

    /** An {@link Hold.Kind#EXCLUSIVE EXCLUSIVE} hold that starts now: call it just <em>after</em> acquire returned. */
    public Hold acquired(String owner, long token) {
        return acquired(owner, Hold.Kind.EXCLUSIVE, token, System.nanoTime());
    }

    /** A hold of {@code kind} that starts now: call it just <em>after</em> acquire returned. */
    public Hold acquired(String owner, Hold.Kind kind, long token) {
        return acquired(owner, kind, token, System.nanoTime());
    }

    /** A hold that started at {@code atNanos} (a {@link System#nanoTime()} instant, from this JVM or a child). */
    public Hold acquired(String owner, Hold.Kind kind, long token, long atNanos) {
        Hold h = new Hold(this, owner, kind, token, atNanos);
        synchronized (holds) {
            holds.add(h);
        }
        return h;
    }

    /** The holds recorded so far, with the checks. */
    public Holds holds() {
        synchronized (holds) {
            return new Holds(this, holds);
        }
    }

    // ------------------------------------------------------------------ operations

    /** An operation {@code process} invokes now: {@code name(value)}; complete it with {@link Op#ok}, {@link Op#fail} or {@link Op#unknown}. */
    public Op invoke(String process, String name, Object value) {
        Op op = new Op(this, process, name, value, System.nanoTime());
        synchronized (ops) {
            ops.add(op);
        }
        return op;
    }

    /** The operations recorded so far, in the order they were invoked. */
    public List<Op> ops() {
        synchronized (ops) {
            return List.copyOf(ops);
        }
    }

    // ------------------------------------------------------------------ deliveries

    /** {@code producer}'s enqueue of {@code item} was acknowledged (call it after enqueue returned). */
    public void enqueued(String producer, Object item) {
        enqueue(producer, item, true);
    }

    /** {@code producer}'s enqueue of {@code item} has an unknown outcome: it may have landed or not. */
    public void enqueueUnknown(String producer, Object item) {
        enqueue(producer, item, false);
    }

    private void enqueue(String producer, Object item, boolean acknowledged) {
        Objects.requireNonNull(producer, "producer");
        Objects.requireNonNull(item, "item");
        synchronized (deliveries) {
            if (!enqueuedItems.add(item)) {
                throw new IllegalArgumentException("item " + item + " enqueued twice: give each enqueue attempt its own item");
            }
            enqueues.add(new Deliveries.Enqueue(producer, item, System.nanoTime(), acknowledged));
        }
    }

    /** {@code consumer} was handed {@code item} now. */
    public void delivered(String consumer, Object item) {
        delivered(consumer, item, System.nanoTime());
    }

    /** {@code consumer} was handed {@code item} at {@code atNanos} (a {@link System#nanoTime()} instant, from this JVM or a child). */
    public void delivered(String consumer, Object item, long atNanos) {
        Objects.requireNonNull(consumer, "consumer");
        Objects.requireNonNull(item, "item");
        synchronized (deliveries) {
            deliveries.add(new Deliveries.Delivery(consumer, item, atNanos));
        }
    }

    /** The enqueues and deliveries recorded so far, with the checks. */
    public Deliveries deliveries() {
        synchronized (deliveries) {
            return new Deliveries(this, enqueues, deliveries);
        }
    }
}
