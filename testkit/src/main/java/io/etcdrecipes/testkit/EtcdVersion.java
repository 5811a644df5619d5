package io.etcdrecipes.testkit;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The version of an etcd binary, as {@code etcd --version} reports it ({@code etcd Version: 3.5.30}), for tests
 * whose expectations differ between etcd versions:
 *
 * <pre>{@code
 * if (etcd.cluster().version().isAtLeast(3, 5)) { ... } else { ... }
 * }</pre>
 *
 * See {@link EtcdCluster#version()} and {@link EtcdCluster#binaryVersion()}.
 */
public record EtcdVersion(int major, int minor, int patch) implements Comparable<EtcdVersion> {
    private static final Pattern VERSION = Pattern.compile("v?(\\d+)\\.(\\d+)\\.(\\d+)");
    private static final Pattern VERSION_LINE = Pattern.compile("etcd Version: v?(\\d+\\.\\d+\\.\\d+)");

    public EtcdVersion {
        if (major < 0 || minor < 0 || patch < 0) {
            throw new IllegalArgumentException("version numbers are not negative: " + major + "." + minor + "." + patch);
        }
    }

    /** {@code "3.5.30"} (a leading {@code v} and a suffix such as {@code -rc.0} are allowed and ignored). */
    public static EtcdVersion parse(String version) {
        Matcher m = VERSION.matcher(Objects.requireNonNull(version, "version").trim());
        if (!m.lookingAt()) throw new IllegalArgumentException("not an etcd version: " + version);
        return new EtcdVersion(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)));
    }

    /** The version in the output of {@code etcd --version} (its {@code etcd Version: X.Y.Z} line), if there is one. */
    static Optional<EtcdVersion> fromVersionOutput(String output) {
        Matcher m = VERSION_LINE.matcher(output);
        return m.find() ? Optional.of(parse(m.group(1))) : Optional.empty();
    }

    /** True if this is {@code major.minor.0} or newer. */
    public boolean isAtLeast(int major, int minor) {
        return isAtLeast(major, minor, 0);
    }

    /** True if this is {@code major.minor.patch} or newer. */
    public boolean isAtLeast(int major, int minor, int patch) {
        return compareTo(new EtcdVersion(major, minor, patch)) >= 0;
    }

    /** True if this is a {@code major.minor.*} release. */
    public boolean isLine(int major, int minor) {
        return this.major == major && this.minor == minor;
    }

    /** {@code "3.5"}. */
    public String line() {
        return major + "." + minor;
    }

    @Override
    public int compareTo(EtcdVersion o) {
        int c = Integer.compare(major, o.major);
        if (c == 0) c = Integer.compare(minor, o.minor);
        if (c == 0) c = Integer.compare(patch, o.patch);
        return c;
    }

    /** {@code "3.5.30"}: what the server reports as its version in a status response. */
    @Override
    public String toString() {
        return major + "." + minor + "." + patch;
    }
}
