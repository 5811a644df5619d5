package io.etcdrecipes.testkit;

/**
 * A cluster or member could not be started, did not become healthy, had no leader in time, or a fault could
 * not be applied. The message names the member and carries its last log lines where they help.
 */
public class EtcdClusterException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public EtcdClusterException(String message) {
        super(message);
    }

    public EtcdClusterException(String message, Throwable cause) {
        super(message, cause);
    }
}
