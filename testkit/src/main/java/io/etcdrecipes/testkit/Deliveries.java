package io.etcdrecipes.testkit;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a {@link History} recorded about a queue at one moment ({@link History#deliveries()}): the items producers
 * enqueued and the items consumers were handed, and the checks on them. Each check throws an {@link AssertionError}
 * naming the item and the deliveries that break it (instants in ms since the history started) and returns
 * {@code this}, so checks chain: {@code history.deliveries().exactlyOnce().fifoPerProducer()}.
 *
 * <p>Items are compared with {@code equals}; give each enqueue attempt its own item (a retry of an enqueue whose
 * outcome is unknown is a new item).
 */
public final class Deliveries {
    /** An enqueue: acknowledged (it returned successfully) or of unknown outcome (it may have landed). */
    public record Enqueue(String producer, Object item, long atNanos, boolean acknowledged) {}

    /** An item a consumer was handed. */
    public record Delivery(String consumer, Object item, long atNanos) {}

    private final History history;
    private final List<Enqueue> enqueues;
    private final List<Delivery> deliveries;
    private final Map<Object, Enqueue> enqueueOf = new HashMap<>();

    Deliveries(History history, List<Enqueue> enqueues, List<Delivery> deliveries) {
        this.history = history;
        this.enqueues = List.copyOf(enqueues);
        this.deliveries = List.copyOf(deliveries);
        for (Enqueue e : this.enqueues) enqueueOf.put(e.item(), e);
    }

    /** Every enqueue, in the order recorded. */
    public List<Enqueue> enqueues() {
        return enqueues;
    }

    /** Every delivery, in the order recorded. */
    public List<Delivery> deliveries() {
        return deliveries;
    }

    /** No item is delivered twice, and none that was never enqueued (acknowledged or unknown) is delivered. */
    public Deliveries atMostOnce() {
        Map<Object, Delivery> first = new HashMap<>();
        for (Delivery d : deliveries) {
            if (!enqueueOf.containsKey(d.item())) {
                throw new AssertionError("item " + d.item() + " was delivered but never enqueued: " + describe(d));
            }
            Delivery earlier = first.putIfAbsent(d.item(), d);
            if (earlier != null) {
                throw new AssertionError("item " + d.item() + " (" + describe(enqueueOf.get(d.item())) + ") was delivered twice:\n  "
                        + describe(earlier) + "\n  " + describe(d));
            }
        }
        return this;
    }

    /**
     * {@link #atMostOnce()}, and every acknowledged item was delivered. An item whose enqueue outcome is unknown may
     * or may not be delivered (once).
     */
    public Deliveries exactlyOnce() {
        atMostOnce();
        return allAcknowledgedDelivered();
    }

    /**
     * At-least-once delivery (a queue that redelivers what a consumer did not ack): every acknowledged item was
     * delivered, once or more, and nothing was delivered that was never enqueued. Duplicates are allowed
     * ({@link #duplicates()} counts them).
     */
    public Deliveries atLeastOnce() {
        for (Delivery d : deliveries) {
            if (!enqueueOf.containsKey(d.item())) {
                throw new AssertionError("item " + d.item() + " was delivered but never enqueued: " + describe(d));
            }
        }
        return allAcknowledgedDelivered();
    }

    /** How many deliveries were of an item delivered before. */
    public int duplicates() {
        Set<Object> seen = new HashSet<>();
        int n = 0;
        for (Delivery d : deliveries) if (!seen.add(d.item())) n++;
        return n;
    }

    private Deliveries allAcknowledgedDelivered() {
        Set<Object> delivered = new HashSet<>();
        for (Delivery d : deliveries) delivered.add(d.item());
        List<Enqueue> lost = enqueues.stream().filter(e -> e.acknowledged() && !delivered.contains(e.item())).toList();
        if (!lost.isEmpty()) {
            StringBuilder sb = new StringBuilder(lost.size() + " acknowledged item(s) never delivered:");
            lost.stream().limit(10).forEach(e -> sb.append("\n  ").append(describe(e)));
            if (lost.size() > 10) sb.append("\n  ...");
            throw new AssertionError(sb.toString());
        }
        return this;
    }

    /**
     * FIFO per producer: the items of one producer that one consumer was handed come in the order that producer
     * enqueued them (the order its {@code enqueued} calls were recorded). Checked per consumer, in the order of its
     * delivery instants, so it holds with any number of consumers (each may skip items others took); with one
     * consumer it is the whole FIFO order.
     */
    public Deliveries fifoPerProducer() {
        Map<Object, Integer> position = new HashMap<>();
        Map<String, Integer> counters = new HashMap<>();
        for (Enqueue e : enqueues) position.put(e.item(), counters.merge(e.producer(), 1, Integer::sum));
        Map<String, List<Delivery>> byConsumer = new LinkedHashMap<>();
        for (Delivery d : deliveries) byConsumer.computeIfAbsent(d.consumer(), c -> new ArrayList<>()).add(d);
        for (List<Delivery> got : byConsumer.values()) {
            List<Delivery> ordered = new ArrayList<>(got);
            ordered.sort(Comparator.comparingLong(Delivery::atNanos)); // stable: recording order on ties
            Map<String, Delivery> lastOfProducer = new HashMap<>();
            for (Delivery d : ordered) {
                Enqueue e = enqueueOf.get(d.item());
                if (e == null) continue; // atMostOnce() reports these
                Delivery last = lastOfProducer.put(e.producer(), d);
                if (last != null && position.get(last.item()) > position.get(d.item())) {
                    throw new AssertionError("consumer " + d.consumer() + " got producer " + e.producer() + "'s items out of order:\n  "
                            + describe(last) + ", enqueued #" + position.get(last.item()) + "\n  then " + describe(d)
                            + ", enqueued #" + position.get(d.item()));
                }
            }
        }
        return this;
    }

    private String describe(Delivery d) {
        return d.item() + " to " + d.consumer() + " at " + history.at(d.atNanos());
    }

    private String describe(Enqueue e) {
        return e.item() + " enqueued by " + e.producer() + " at " + history.at(e.atNanos())
                + (e.acknowledged() ? "" : " (outcome unknown)");
    }
}
