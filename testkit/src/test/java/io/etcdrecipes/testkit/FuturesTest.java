package io.etcdrecipes.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class FuturesTest {

    @Test
    void getReturnsTheValue() {
        assertThat(Futures.get(CompletableFuture.completedFuture("v"))).isEqualTo("v");
        assertThat(Futures.get(CompletableFuture.supplyAsync(() -> 42), Duration.ofSeconds(5))).isEqualTo(42);
    }

    @Test
    void getThrowsTheCauseUnwrapped() {
        IllegalStateException boom = new IllegalStateException("boom");
        assertThatThrownBy(() -> Futures.get(CompletableFuture.failedFuture(boom))).isSameAs(boom);
        // a failure in a dependent stage is wrapped in CompletionException inside the future: still the cause
        CompletableFuture<Object> stage = CompletableFuture.completedFuture(1).thenApply(x -> {
            throw boom;
        });
        assertThatThrownBy(() -> Futures.get(stage)).isSameAs(boom);
        IOException checked = new IOException("io");
        assertThatThrownBy(() -> Futures.get(CompletableFuture.failedFuture(checked)))
                .isInstanceOf(CompletionException.class).hasCause(checked);
        CompletableFuture<String> cancelled = new CompletableFuture<>();
        cancelled.cancel(false);
        assertThatThrownBy(() -> Futures.get(cancelled)).isInstanceOf(CancellationException.class);
    }

    @Test
    void aFutureThatIsNotDoneInTimeFailsTheTestSayingSo() {
        assertThatThrownBy(() -> Futures.get(new CompletableFuture<>(), Duration.ofMillis(50)))
                .isInstanceOf(AssertionError.class).hasMessageContaining("not done within 50 ms");
        assertThatThrownBy(() -> Futures.failure(new CompletableFuture<>(), Duration.ofMillis(50)))
                .isInstanceOf(AssertionError.class).hasMessageContaining("not done within 50 ms")
                .hasMessageContaining("expected it to fail");
    }

    @Test
    void failureReturnsTheCauseAndInsistsOnAFailure() {
        IllegalStateException boom = new IllegalStateException("boom");
        assertThat(Futures.failure(CompletableFuture.failedFuture(boom))).isSameAs(boom);
        assertThat(Futures.failure(CompletableFuture.completedFuture(1).thenApply(x -> {
            throw boom;
        }))).isSameAs(boom);
        CompletableFuture<String> cancelled = new CompletableFuture<>();
        cancelled.cancel(false);
        assertThat(Futures.failure(cancelled)).isInstanceOf(CancellationException.class);
        assertThatThrownBy(() -> Futures.failure(CompletableFuture.completedFuture("fine")))
                .isInstanceOf(AssertionError.class).hasMessageContaining("completed with: fine");
    }

    @Test
    void anInterruptWhileWaitingFailsAndKeepsTheFlag() {
        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(() -> Futures.get(new CompletableFuture<>(), Duration.ofSeconds(5)))
                    .isInstanceOf(AssertionError.class).hasMessageContaining("interrupted");
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
    }
}
