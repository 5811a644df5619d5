package io.etcdrecipes.testkit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Checks the final contents of a log that lock holders appended to, each append guarded by its lock (a
 * transaction that compares the holder's lock key), which is the end-to-end proof that a lock and its fencing
 * work: nothing a holder writes lands inside another holder's turn, and a holder that lost its lock writes nothing
 * more.
 *
 * <p>Each entry names its holder, the fencing token it wrote under (if the log carries tokens) and a mark:
 * {@code "begin"} opens a turn, {@code "end"} closes it, anything else is written within a turn (or stands alone).
 * The text forms are {@code holder:token:mark} and, for a log without tokens, {@code holder:mark}
 * ({@link Entry#parse}); there the holder names one turn's owner, such as {@code p1#3} for p1's third cycle. A
 * holder may have several turns under one token.
 *
 * <pre>{@code
 * // each holder, per cycle: lock; append "p1:<token>:begin"; append "p1:<token>:work"; append "p1:<token>:end"; unlock
 * GuardedLog.noInterleaving(GuardedLog.parse(valuesInKeyOrder));
 * }</pre>
 */
public final class GuardedLog {
    private GuardedLog() {}

    /** The token of an entry in a log without tokens. */
    public static final long NO_TOKEN = Long.MIN_VALUE;

    /** One log entry; {@code token} is {@link #NO_TOKEN} in a log without tokens. */
    public record Entry(String holder, long token, String mark) {
        public Entry {
            Objects.requireNonNull(holder, "holder");
            Objects.requireNonNull(mark, "mark");
        }

        /**
         * Parses {@code holder:token:mark} when the second field from the right is a number, else {@code holder:mark}
         * (no token). Fields are found from the right, so a holder may itself contain {@code ':'}.
         */
        public static Entry parse(String text) {
            int last = text.lastIndexOf(':');
            if (last <= 0) throw new IllegalArgumentException("not holder:token:mark or holder:mark: '" + text + "'");
            String mark = text.substring(last + 1);
            int middle = text.lastIndexOf(':', last - 1);
            if (middle > 0) {
                try {
                    return new Entry(text.substring(0, middle), Long.parseLong(text.substring(middle + 1, last)), mark);
                } catch (NumberFormatException e) {
                    // no token: the holder runs up to the last ':'
                }
            }
            return new Entry(text.substring(0, last), NO_TOKEN, mark);
        }

        String turn() {
            return token == NO_TOKEN ? holder : holder + ":" + token;
        }

        boolean begins() {
            return mark.equals("begin");
        }

        boolean ends() {
            return mark.equals("end");
        }

        @Override
        public String toString() {
            return turn() + ":" + mark;
        }
    }

    /** Parses every entry with {@link Entry#parse}. */
    public static List<Entry> parse(List<String> texts) {
        List<Entry> out = new ArrayList<>(texts.size());
        for (String t : texts) out.add(Entry.parse(t));
        return out;
    }

    /**
     * Checks, in log order:
     * <ul>
     *   <li>fencing tokens never decrease (entries without a token are not compared);</li>
     *   <li>while a turn is open (a {@code begin} not yet followed by its {@code end}), only its holder, under its
     *       token, writes; another holder's {@code begin} may cut it short (the first holder lost its lock
     *       mid-turn), but then the first holder, under that token, never writes again;</li>
     *   <li>an {@code end} closes the open turn of the same holder and token.</li>
     * </ul>
     *
     * @throws AssertionError naming the offending entry, its index and the turn it breaks, with the entries around it
     */
    public static void noInterleaving(List<Entry> log) {
        Entry open = null;          // the begin of the open turn
        int openAt = -1;
        Entry lastTokened = null;
        Map<String, Integer> cutShort = new HashMap<>(); // turn -> index of the begin that cut it short
        for (int i = 0; i < log.size(); i++) {
            Entry e = log.get(i);
            if (e.token() != NO_TOKEN) {
                if (lastTokened != null && e.token() < lastTokened.token()) {
                    fail(log, i, "fencing token went down from " + lastTokened.token() + " to " + e.token());
                }
                lastTokened = e;
            }
            Integer cutBy = cutShort.get(e.turn());
            if (cutBy != null) {
                fail(log, i, e.turn() + " writes after its turn was cut short by entry #" + cutBy + " (" + log.get(cutBy) + ")");
            }
            boolean sameTurn = open != null && open.turn().equals(e.turn());
            if (e.begins()) {
                if (open != null) {
                    if (sameTurn) fail(log, i, "begins again inside its own turn begun at #" + openAt);
                    cutShort.put(open.turn(), i);
                }
                open = e;
                openAt = i;
            } else if (open != null && !sameTurn) {
                fail(log, i, "interleaves the turn of " + open.turn() + " begun at #" + openAt);
            } else if (e.ends()) {
                if (open == null) fail(log, i, "ends a turn that is not open");
                open = null;
                openAt = -1;
            }
        }
    }

    /**
     * Each turn's entries (same holder, same token) form one run in the log: a turn that wrote, let others write and
     * then wrote again under the same token is reported (with {@link #noInterleaving} this also catches a holder
     * that went on writing after its turn was cut short). Returns the number of entries checked.
     */
    public static int contiguousTurns(List<Entry> log) {
        Map<String, Integer> last = new HashMap<>();
        for (int i = 0; i < log.size(); i++) {
            Integer prev = last.put(log.get(i).turn(), i);
            if (prev != null && prev != i - 1) {
                fail(log, i, "continues its turn last written at #" + prev + ", with other turns' entries in between");
            }
        }
        return log.size();
    }

    /**
     * One version of a log kept in one key, from the key's history (a watch from revision 1): the revision that
     * wrote it, its entries, and the fencing token of whoever held the lock or led at that revision
     * ({@link #NO_TOKEN} when nobody did).
     */
    public record Version(long revision, List<String> entries, long holderToken) {
        public Version {
            entries = List.copyOf(entries);
        }
    }

    /**
     * The end-to-end fencing check over a log's history: every version appends exactly one entry to the one before
     * (the first to an empty log), and that entry carries the token of the holder at the revision that wrote it — no
     * write of a turn that had ended. Returns the number of versions checked.
     */
    public static int eachAppendByTheHolderOfItsRevision(List<Version> versions) {
        List<String> previous = List.of();
        for (int i = 0; i < versions.size(); i++) {
            Version v = versions.get(i);
            List<String> text = v.entries();
            if (text.size() != previous.size() + 1 || !text.subList(0, previous.size()).equals(previous)) {
                throw new AssertionError("version " + (i + 1) + " of the log (revision " + v.revision()
                        + ") does not append one entry to version " + i + ": " + previous.size() + " entries then "
                        + text.size() + (text.isEmpty() ? "" : ", last " + text.get(text.size() - 1)));
            }
            String entry = text.get(text.size() - 1);
            long token = Entry.parse(entry).token();
            if (v.holderToken() == NO_TOKEN) {
                throw new AssertionError(entry + " was written at revision " + v.revision() + ", when nobody held");
            }
            if (token != v.holderToken()) {
                throw new AssertionError(entry + " was written at revision " + v.revision() + ", when the holder's token was "
                        + v.holderToken() + ": a write of a turn that had ended (or not begun)");
            }
            previous = text;
        }
        return versions.size();
    }

    private static void fail(List<Entry> log, int at, String what) {
        StringBuilder sb = new StringBuilder("guarded log entry #" + at + " (" + log.get(at) + ") " + what + "; entries around it:");
        for (int i = Math.max(0, at - 5); i <= Math.min(log.size() - 1, at + 2); i++) {
            sb.append("\n  ").append(i == at ? "> " : "  ").append('#').append(i).append(' ').append(log.get(i));
        }
        throw new AssertionError(sb.toString());
    }
}
