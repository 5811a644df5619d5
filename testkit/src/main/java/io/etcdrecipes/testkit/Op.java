package io.etcdrecipes.testkit;

import java.util.Objects;

/**
 * One operation in a {@link History}, Jepsen style: a process invoked {@code name(value)} at one instant and it
 * completed at another, {@link Outcome#OK ok} with a result, {@link Outcome#FAIL failed} (it certainly did not take
 * effect) or {@link Outcome#UNKNOWN unknown} (it may or may not have: a deadline ran out, the connection broke).
 * Tests write their own checks over {@link History#ops()}; an op that is ok or unknown took effect, if at all,
 * somewhere between its invoke and complete instants (an unknown one at any time after its invoke).
 *
 * <pre>{@code
 * Op op = history.invoke("p1", "put", "x=1");
 * try {
 *     op.ok(Futures.get(kv.put("x", "1")).header().revision());
 * } catch (DeadlineExceededException e) {
 *     op.unknown(e);
 * } catch (EtcdException e) {
 *     op.fail(e);
 * }
 * }</pre>
 */
public final class Op {
    /** How an operation ended; {@link #PENDING} until it does. */
    public enum Outcome {
        PENDING,
        OK,
        FAIL,
        UNKNOWN
    }

    private final History history;
    private final String process;
    private final String name;
    private final Object value;
    private final long invokeNanos;
    private long completeNanos = Long.MAX_VALUE;
    private Outcome outcome = Outcome.PENDING;
    private Object result;
    private Throwable error;

    Op(History history, String process, String name, Object value, long invokeNanos) {
        this.history = history;
        this.process = Objects.requireNonNull(process, "process");
        this.name = Objects.requireNonNull(name, "name");
        this.value = value;
        this.invokeNanos = invokeNanos;
    }

    /** Who invoked it (a thread, a client, a child process). */
    public String process() {
        return process;
    }

    public String name() {
        return name;
    }

    /** The argument it was invoked with (may be null). */
    public Object value() {
        return value;
    }

    /** When it was invoked ({@link System#nanoTime()}). */
    public long invokeNanos() {
        return invokeNanos;
    }

    /** When it completed ({@link System#nanoTime()}); {@link Long#MAX_VALUE} while pending. */
    public synchronized long completeNanos() {
        return completeNanos;
    }

    public synchronized Outcome outcome() {
        return outcome;
    }

    /** What it returned when {@link Outcome#OK ok}, else null. */
    public synchronized Object result() {
        return result;
    }

    /** Why it failed or became unknown, else null. */
    public synchronized Throwable error() {
        return error;
    }

    /** It took effect and returned {@code result} (may be null). */
    public void ok(Object result) {
        complete(Outcome.OK, result, null);
    }

    /** It certainly did not take effect. */
    public void fail(Throwable error) {
        complete(Outcome.FAIL, null, error);
    }

    /** It may or may not have taken effect (a deadline ran out, the connection broke). */
    public void unknown(Throwable error) {
        complete(Outcome.UNKNOWN, null, error);
    }

    private synchronized void complete(Outcome how, Object result, Throwable error) {
        if (outcome != Outcome.PENDING) throw new IllegalStateException("operation already completed (" + outcome + "): " + this);
        this.completeNanos = Math.max(System.nanoTime(), invokeNanos);
        this.outcome = how;
        this.result = result;
        this.error = error;
    }

    @Override
    public synchronized String toString() {
        String tail = switch (outcome) {
            case PENDING -> "pending";
            case OK -> "ok " + result;
            case FAIL -> "fail " + error;
            case UNKNOWN -> "unknown " + error;
        };
        return process + " " + name + "(" + value + ") [" + history.at(invokeNanos) + " .. "
                + (outcome == Outcome.PENDING ? "" : history.at(completeNanos) + " ") + tail + "]";
    }
}
