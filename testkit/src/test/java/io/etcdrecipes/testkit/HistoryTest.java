package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;

/** Recording from many threads at once, operations, and the cross-JVM instants. */
class HistoryTest {
    private final History history = new History();

    @Test
    void manyThreadsRecordingHoldsOpsAndDeliveriesAtOnceLoseNothing() throws Exception {
        int threads = 8;
        int rounds = 300;
        ReentrantLock lock = new ReentrantLock(true);
        long[] token = {0};
        BlockingQueue<String> queue = new ArrayBlockingQueue<>(16);
        ExecutorService pool = Executors.newFixedThreadPool(threads + 2);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                String me = "t" + i;
                done.add(pool.submit(() -> {
                    for (int r = 0; r < rounds; r++) {
                        Op op = history.invoke(me, "lock", r);
                        lock.lock();
                        Hold hold = history.acquired(me, ++token[0]);
                        op.ok(hold.token());
                        hold.released();
                        lock.unlock();
                    }
                    return null;
                }));
            }
            done.add(pool.submit(() -> {
                for (int r = 0; r < threads * rounds; r++) {
                    queue.put("item-" + r);
                    history.enqueued("producer", "item-" + r);
                }
                return null;
            }));
            done.add(pool.submit(() -> {
                for (int r = 0; r < threads * rounds; r++) {
                    history.delivered("consumer", queue.take());
                }
                return null;
            }));
            for (Future<?> f : done) Futures.get(f, Timing.seconds(60));
        } finally {
            pool.shutdownNow();
            assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(history.holds().size()).isEqualTo(threads * rounds);
        history.holds().noOverlap().atMostConcurrent(1).readersWriters().tokensIncrease();
        assertThat(history.ops()).hasSize(threads * rounds).allMatch(o -> o.outcome() == Op.Outcome.OK);
        assertThat(history.deliveries().deliveries()).hasSize(threads * rounds);
        history.deliveries().exactlyOnce().fifoPerProducer();
    }

    @Test
    void twoThreadsHoldingAtOnceAreCaught() throws Exception {
        CountDownLatch aHolds = new CountDownLatch(1);
        CountDownLatch bHolds = new CountDownLatch(1);
        Thread a = new Thread(() -> {
            Hold h = history.acquired("a", 1);
            aHolds.countDown();
            await(bHolds);
            h.released();
        });
        Thread b = new Thread(() -> {
            await(aHolds);
            Hold h = history.acquired("b", 2); // a broken lock let b in while a holds
            bHolds.countDown();
            h.released();
        });
        a.start();
        b.start();
        a.join(10_000);
        b.join(10_000);
        assertThatThrownBy(() -> history.holds().noOverlap()).hasMessageContaining("a EXCLUSIVE token 1").hasMessageContaining("b EXCLUSIVE token 2");
    }

    private static void await(CountDownLatch latch) {
        try {
            assertThat(latch.await(10, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void anOperationRecordsItsInstantsAndOutcome() {
        Op ok = history.invoke("p1", "put", "x=1");
        assertThat(ok.outcome()).isEqualTo(Op.Outcome.PENDING);
        assertThat(ok.completeNanos()).isEqualTo(Long.MAX_VALUE);
        assertThat(ok.toString()).startsWith("p1 put(x=1) [").endsWith("pending]");
        ok.ok(7L);
        Op failed = history.invoke("p2", "get", "x");
        failed.fail(new IllegalStateException("no leader"));
        Op unknown = history.invoke("p2", "put", "x=2");
        unknown.unknown(new IllegalStateException("deadline"));

        assertThat(history.ops()).containsExactly(ok, failed, unknown);
        assertThat(ok.outcome()).isEqualTo(Op.Outcome.OK);
        assertThat(ok.result()).isEqualTo(7L);
        assertThat(ok.completeNanos()).isGreaterThanOrEqualTo(ok.invokeNanos());
        assertThat(ok.toString()).contains("ok 7");
        assertThat(failed.error()).hasMessage("no leader");
        assertThat(failed.toString()).contains("fail java.lang.IllegalStateException: no leader");
        assertThat(unknown.outcome()).isEqualTo(Op.Outcome.UNKNOWN);
        assertThatThrownBy(() -> ok.fail(new RuntimeException())).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void instantsShowAsMillisecondsSinceTheHistoryStarted() {
        assertThat(history.at(history.startNanos() + 1_500_000)).isEqualTo(String.format("%.3f ms", 1.5));
        assertThat(history.at(history.startNanos() - 2_000_000)).isEqualTo(String.format("%.3f ms", -2.0));
        assertThat(history.at(Long.MAX_VALUE)).isEqualTo("open");
    }

    @Test
    void aChildJvmsNanoTimeIsOnTheSameClock() {
        // what lets a history merge instants a child JVM prints: CLOCK_MONOTONIC is one clock per machine
        long before = System.nanoTime();
        try (ChildJvm child = ChildJvm.start(TestChild.class)) {
            child.awaitLine("READY", Timing.seconds(30));
            long sent = System.nanoTime();
            child.send("nanos");
            long theirs = Long.parseLong(child.awaitLine("NANOS ", Timing.seconds(10)).substring(6));
            long after = System.nanoTime();
            assertThat(theirs).isBetween(sent, after).isGreaterThan(before);
            Hold h = history.acquired("child", Hold.Kind.EXCLUSIVE, 1, theirs);
            h.released(after);
            assertThat(Duration.ofNanos(h.endNanos() - h.startNanos())).isLessThan(Timing.seconds(10));
        }
    }
}
