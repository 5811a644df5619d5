package io.etcdrecipes.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcdrecipes.client.ErrorCode;
import io.etcdrecipes.client.UnavailableException;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

import java.nio.channels.ClosedChannelException;

/**
 * A connection that closes while grpc-netty starts a call on it (seen when a member is SIGKILLed under load) ends the
 * call with {@code UNKNOWN: channel closed}; it must count as a transport failure (UNAVAILABLE) so repeatable calls
 * are retried on another member and the failover logic suspects the member. Before this mapping a read-only
 * transaction of a double barrier failed its leave in CI when the leader was killed.
 */
class TransportStatusTest {

  /** The status exactly as grpc-netty builds it: a ClosedChannelException wrapping netty's stackless one. */
  private static Status channelClosed() {
    ClosedChannelException netty = new ClosedChannelException();
    ClosedChannelException wrapper = new ClosedChannelException();
    wrapper.initCause(netty);
    return Status.UNKNOWN.withDescription("channel closed").withCause(wrapper);
  }

  @Test
  void aChannelClosedUnderACallIsUnavailable() {
    Status s = Errors.transportStatus(channelClosed());
    assertThat(s.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(s.getDescription()).isEqualTo("channel closed");
    assertThat(s.getCause()).isInstanceOf(ClosedChannelException.class);
    assertThat(Errors.fromStatus(channelClosed(), null)).isInstanceOf(UnavailableException.class)
        .extracting(e -> e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
  }

  @Test
  void otherUnknownStatusesStayUnknown() {
    Status plain = Status.UNKNOWN.withDescription("something else").withCause(new IllegalStateException("x"));
    assertThat(Errors.transportStatus(plain)).isSameAs(plain);
    assertThat(Errors.fromStatus(plain, null).code()).isEqualTo(ErrorCode.UNKNOWN);
    Status internal = Status.INTERNAL.withCause(new ClosedChannelException());
    assertThat(Errors.transportStatus(internal)).isSameAs(internal);
  }
}
