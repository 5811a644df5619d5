package io.etcdrecipes.testkit;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Reads and writes of single keys with etcd's revisions, checked for the read guarantees a client (a cache, a
 * leasing KV, an ordering wrapper) promises. Record every completed operation ({@link #write}, {@link #read}), each
 * with the instants it was invoked and completed ({@link System#nanoTime()}); then run the checks. Each check throws
 * an {@link AssertionError} naming the operations that break it and returns how many comparisons it made, so a test
 * can assert that it checked something ({@code assertThat(h.monotonicPerProcess()).isGreaterThan(1000)}).
 *
 * <pre>{@code
 * KvHistory h = new KvHistory();
 * h.initial("k", "init", putRevision);
 * h.write(new KvHistory.Write("c0", "t1", "k", "v1", revision, invoke, complete));
 * h.read(new KvHistory.Read("c1", "t2", "k", "v1", modRevision, headerRevision, invoke, complete));
 * h.readsReturnWrittenValues();
 * h.monotonicPerProcess();
 * h.monotonicPerClient(c -> !c.equals("plain"));
 * h.readsSeeCompletedWrites(w -> !w.client().equals("plain"));       // linearizable for these writers
 * KvHistory.Staleness s = h.missesOnlyFromCache(w -> w.client().equals("plain"), maxNanos); // bounded staleness
 * }</pre>
 *
 * Values must be unique per key (a writer puts {@code client-thread-n}): a read is matched to the write of its value.
 */
public final class KvHistory {
    /** A completed put of {@code value} to {@code key} at {@code revision}. */
    public record Write(String client, String process, String key, String value, long revision, long invokeNanos,
                        long completeNanos) {
        public Write {
            Objects.requireNonNull(client, "client");
            Objects.requireNonNull(process, "process");
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value");
        }
    }

    /**
     * A completed read of {@code key}: {@code value} (null when absent) with its mod revision (0 when absent), and
     * the response header's revision (the revision of the store that answered; older than the value's for no one,
     * and older than a missed write only when the answer did not come from the server's current state).
     */
    public record Read(String client, String process, String key, String value, long modRevision, long headerRevision,
                       long invokeNanos, long completeNanos) {
        public Read {
            Objects.requireNonNull(client, "client");
            Objects.requireNonNull(process, "process");
            Objects.requireNonNull(key, "key");
        }
    }

    /** A read that returned a value older than a matching write completed before the read was invoked. */
    public record Miss(Read read, Write missed) {
        /** How long after the missed write completed the read was invoked. */
        public long windowNanos() {
            return read.invokeNanos() - missed.completeNanos();
        }
    }

    /** What {@link #missesOnlyFromCache} found: the reads it compared, the misses, the longest window. */
    public record Staleness(int checked, List<Miss> misses, long maxWindowNanos) {}

    private final long startNanos = System.nanoTime();
    private final Map<String, Write> initial = new HashMap<>();
    private final List<Write> writes = new ArrayList<>();
    private final List<Read> reads = new ArrayList<>();

    /** {@code key} held {@code value}, written at {@code revision}, before anything recorded here. */
    public synchronized KvHistory initial(String key, String value, long revision) {
        initial.put(key, new Write("initial", "initial", key, value, revision, startNanos, startNanos));
        return this;
    }

    public synchronized void write(Write w) {
        writes.add(Objects.requireNonNull(w, "write"));
    }

    public synchronized void read(Read r) {
        reads.add(Objects.requireNonNull(r, "read"));
    }

    public synchronized List<Write> writes() {
        return List.copyOf(writes);
    }

    public synchronized List<Read> reads() {
        return List.copyOf(reads);
    }

    /**
     * Every read returned a value that was written: the key's initial value at its revision, or the value of a write
     * of that key at that write's revision. A read of an absent key fails it unless the key had no initial value and
     * the read returned revision 0.
     */
    public int readsReturnWrittenValues() {
        Map<String, Write> byValue = new HashMap<>();
        for (Write w : writes()) byValue.put(w.key() + "\u0000" + w.value(), w);
        Map<String, Write> init;
        synchronized (this) {
            init = Map.copyOf(initial);
        }
        int n = 0;
        for (Read r : reads()) {
            n++;
            if (r.value() == null) {
                if (init.containsKey(r.key()) || r.modRevision() != 0) fail("read of an absent value", r, init.get(r.key()));
                continue;
            }
            Write w = byValue.get(r.key() + "\u0000" + r.value());
            Write i = init.get(r.key());
            if (w == null && i != null && i.value().equals(r.value())) w = i;
            if (w == null) fail("read a value nobody wrote", r, null);
            if (w.revision() != r.modRevision()) fail("read a value at another revision than its write's", r, w);
        }
        return n;
    }

    /** The reads of one process (a thread) of one key never go back in revision, in the order it invoked them. */
    public int monotonicPerProcess() {
        Map<String, Read> last = new HashMap<>();
        List<Read> byInvoke = new ArrayList<>(reads());
        byInvoke.sort(Comparator.comparingLong(Read::invokeNanos));
        int n = 0;
        for (Read r : byInvoke) {
            Read prev = last.put(r.process() + "\u0000" + r.key(), r);
            n++;
            if (prev != null && r.modRevision() < prev.modRevision()) fail("a process's read went back in time", r, prev);
        }
        return n;
    }

    /**
     * For each client {@code clients} accepts, across its processes: a read never returns older than a read of the
     * same key by the same client that completed before it was invoked.
     */
    public int monotonicPerClient(Predicate<String> clients) {
        Map<String, List<Read>> groups = new HashMap<>();
        for (Read r : reads()) {
            if (clients.test(r.client())) groups.computeIfAbsent(r.client() + "\u0000" + r.key(), k -> new ArrayList<>()).add(r);
        }
        int n = 0;
        for (List<Read> group : groups.values()) {
            Latest<Read> before = new Latest<>(group, Read::completeNanos, Read::modRevision);
            for (Read r : group) {
                Read prev = before.maxBefore(r.invokeNanos());
                if (prev == null) continue;
                n++;
                if (r.modRevision() < prev.modRevision()) fail("a client's read returned older than its earlier read", r, prev);
            }
        }
        return n;
    }

    /**
     * No read misses a write {@code which} accepts: a read returns the revision of the newest such write of its key
     * that completed before the read was invoked, or a later one (linearizable for those writers).
     */
    public int readsSeeCompletedWrites(Predicate<Write> which) {
        int n = 0;
        Map<String, Latest<Write>> latest = latestWrites(which);
        for (Read r : reads()) {
            Latest<Write> l = latest.get(r.key());
            Write w = l == null ? null : l.maxBefore(r.invokeNanos());
            if (w == null) continue;
            n++;
            if (r.modRevision() < w.revision()) fail("a read missed a completed write", r, w);
        }
        return n;
    }

    /**
     * Bounded staleness for the writes {@code which} accepts: a read may miss a completed one only if it was answered
     * from a cache (its header revision is below the missed write's) and was invoked less than {@code maxWindowNanos}
     * after the earliest write it missed completed. Returns the misses, for checks of the test's own.
     */
    public Staleness missesOnlyFromCache(Predicate<Write> which, long maxWindowNanos) {
        Map<String, Latest<Write>> latest = latestWrites(which);
        Map<String, List<Write>> byKey = new HashMap<>();
        for (Write w : writes()) if (which.test(w)) byKey.computeIfAbsent(w.key(), k -> new ArrayList<>()).add(w);
        int n = 0;
        long maxWindow = 0;
        List<Miss> misses = new ArrayList<>();
        for (Read r : reads()) {
            Latest<Write> l = latest.get(r.key());
            Write newest = l == null ? null : l.maxBefore(r.invokeNanos());
            if (newest == null) continue;
            n++;
            if (r.modRevision() >= newest.revision()) continue;
            if (r.headerRevision() >= newest.revision()) fail("a read answered by a store that had the write missed it", r, newest);
            Write first = byKey.get(r.key()).stream()
                    .filter(w -> w.revision() > r.modRevision() && w.completeNanos() < r.invokeNanos())
                    .min(Comparator.comparingLong(Write::completeNanos)).orElseThrow();
            Miss m = new Miss(r, first);
            if (m.windowNanos() >= maxWindowNanos) {
                fail("a read missed a write completed " + String.format("%.3f ms", m.windowNanos() / 1e6) + " before it (at most "
                        + String.format("%.3f ms", maxWindowNanos / 1e6) + " allowed)", r, first);
            }
            maxWindow = Math.max(maxWindow, m.windowNanos());
            misses.add(m);
        }
        return new Staleness(n, List.copyOf(misses), maxWindow);
    }

    private Map<String, Latest<Write>> latestWrites(Predicate<Write> which) {
        Map<String, List<Write>> byKey = new HashMap<>();
        for (Write w : writes()) if (which.test(w)) byKey.computeIfAbsent(w.key(), k -> new ArrayList<>()).add(w);
        Map<String, Latest<Write>> out = new HashMap<>();
        byKey.forEach((k, ws) -> out.put(k, new Latest<>(ws, Write::completeNanos, Write::revision)));
        return out;
    }

    /** The element with the highest revision among those completed strictly before an instant. */
    private static final class Latest<T> {
        private final long[] completes;
        private final List<T> prefixMax = new ArrayList<>();

        Latest(List<T> items, java.util.function.ToLongFunction<T> complete, java.util.function.ToLongFunction<T> revision) {
            List<T> sorted = new ArrayList<>(items);
            sorted.sort(Comparator.comparingLong(complete));
            completes = new long[sorted.size()];
            T max = null;
            for (int i = 0; i < sorted.size(); i++) {
                T t = sorted.get(i);
                if (max == null || revision.applyAsLong(t) > revision.applyAsLong(max)) max = t;
                completes[i] = complete.applyAsLong(t);
                prefixMax.add(max);
            }
        }

        T maxBefore(long instant) {
            int lo = 0;
            int hi = completes.length;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (completes[mid] < instant) lo = mid + 1;
                else hi = mid;
            }
            return lo == 0 ? null : prefixMax.get(lo - 1);
        }
    }

    private String describe(Object op) {
        if (op instanceof Read r) {
            return r.client() + "/" + r.process() + " read " + r.key() + " = " + r.value() + " @" + r.modRevision() + " (header "
                    + r.headerRevision() + ") [" + at(r.invokeNanos()) + " .. " + at(r.completeNanos()) + "]";
        }
        Write w = (Write) op;
        return w.client() + "/" + w.process() + " wrote " + w.key() + " = " + w.value() + " @" + w.revision() + " ["
                + at(w.invokeNanos()) + " .. " + at(w.completeNanos()) + "]";
    }

    private String at(long nanos) {
        return String.format("%.3f ms", (nanos - startNanos) / 1e6);
    }

    private void fail(String what, Read r, Object other) {
        throw new AssertionError(what + " (ms since the history started):\n  " + describe(r)
                + (other == null ? "" : "\n  " + describe(other)));
    }
}
