package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DeliveriesTest {
    private final History history = new History();

    @Test
    void exactlyOnceAndFifoPassAQueueThatDeliversEveryItemOnceInOrder() {
        for (int i = 1; i <= 5; i++) {
            history.enqueued("p1", "p1-" + i);
            history.enqueued("p2", "p2-" + i);
        }
        history.enqueueUnknown("p1", "p1-6"); // may or may not have landed: either is fine
        for (int i = 1; i <= 5; i++) {
            history.delivered("c1", "p1-" + i);
            history.delivered(i % 2 == 0 ? "c1" : "c2", "p2-" + i); // two consumers share p2's items
        }
        history.deliveries().exactlyOnce().atMostOnce().fifoPerProducer();
        history.delivered("c2", "p1-6");
        history.deliveries().exactlyOnce().fifoPerProducer();
    }

    @Test
    void aDuplicateDeliveryIsCaughtWithBothDeliveries() {
        history.enqueued("p1", "a");
        history.enqueued("p1", "b");
        history.delivered("c1", "a");
        history.delivered("c1", "b");
        history.delivered("c2", "a");
        assertThatThrownBy(() -> history.deliveries().atMostOnce())
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("item a (a enqueued by p1 at")
                .hasMessageContaining("was delivered twice")
                .hasMessageContaining("a to c1 at").hasMessageContaining("a to c2 at");
        assertThatThrownBy(() -> history.deliveries().exactlyOnce()).hasMessageContaining("delivered twice");
    }

    @Test
    void anUnknownEnqueueMayBeDeliveredAtMostOnce() {
        history.enqueueUnknown("p1", "u");
        history.deliveries().exactlyOnce();
        history.delivered("c1", "u");
        history.deliveries().exactlyOnce();
        history.delivered("c1", "u");
        assertThatThrownBy(() -> history.deliveries().exactlyOnce())
                .hasMessageContaining("(outcome unknown)").hasMessageContaining("delivered twice");
    }

    @Test
    void aLostAcknowledgedItemIsCaught() {
        history.enqueued("p1", "a");
        history.enqueued("p1", "b");
        history.enqueued("p2", "c");
        history.delivered("c1", "a");
        history.deliveries().atMostOnce();
        assertThatThrownBy(() -> history.deliveries().exactlyOnce())
                .hasMessageContaining("2 acknowledged item(s) never delivered")
                .hasMessageContaining("b enqueued by p1").hasMessageContaining("c enqueued by p2");
    }

    @Test
    void anItemNeverEnqueuedIsCaught() {
        history.enqueued("p1", "a");
        history.delivered("c1", "a");
        history.delivered("c1", "ghost");
        assertThatThrownBy(() -> history.deliveries().atMostOnce()).hasMessageContaining("item ghost was delivered but never enqueued");
    }

    @Test
    void fifoCatchesAConsumerGettingAProducersItemsOutOfOrder() {
        for (int i = 1; i <= 4; i++) history.enqueued("p1", "p1-" + i);
        history.delivered("c1", "p1-1");
        history.delivered("c2", "p1-2");
        history.delivered("c1", "p1-4");
        history.delivered("c1", "p1-3"); // c1 already had p1-4
        assertThatThrownBy(() -> history.deliveries().fifoPerProducer())
                .hasMessageContaining("consumer c1 got producer p1's items out of order")
                .hasMessageContaining("p1-4 to c1 at").hasMessageContaining("enqueued #4")
                .hasMessageContaining("then p1-3 to c1 at").hasMessageContaining("enqueued #3");
    }

    @Test
    void fifoOrdersAConsumersDeliveriesByTheirInstants() {
        history.enqueued("p1", "x");
        history.enqueued("p1", "y");
        long t0 = System.nanoTime();
        // a child consumer's deliveries, merged out of order: its instants say x came first
        history.delivered("child", "y", t0 + 2_000_000);
        history.delivered("child", "x", t0 + 1_000_000);
        history.deliveries().fifoPerProducer().exactlyOnce();
    }

    @Test
    void theSameItemCannotBeEnqueuedTwice() {
        history.enqueueUnknown("p1", "a");
        assertThatThrownBy(() -> history.enqueued("p1", "a")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("enqueued twice");
    }

    @Test
    void atLeastOnceAllowsRedeliveriesButCatchesALostOrInventedItem() {
        history.enqueued("p1", "a");
        history.enqueued("p1", "b");
        history.enqueueUnknown("p1", "c");
        history.delivered("c1", "a");
        history.delivered("c2", "a"); // redelivered: its first consumer did not ack
        assertThatThrownBy(() -> history.deliveries().atLeastOnce()).isInstanceOf(AssertionError.class)
                .hasMessageContaining("1 acknowledged item(s) never delivered").hasMessageContaining("b enqueued by p1");
        history.delivered("c1", "b");
        history.deliveries().atLeastOnce();
        org.assertj.core.api.Assertions.assertThat(history.deliveries().duplicates()).isEqualTo(1);
        assertThatThrownBy(() -> history.deliveries().exactlyOnce()).hasMessageContaining("delivered twice");
        history.delivered("c1", "ghost");
        assertThatThrownBy(() -> history.deliveries().atLeastOnce()).hasMessageContaining("item ghost was delivered but never enqueued");
    }
}
