package io.etcdrecipes.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs etcdctl (v3 API) as a reference peer and reads its JSON output. */
final class Etcdctl {

  private static final Pattern KEY = Pattern.compile("\"key\":\"([^\"]*)\"");
  private static final Pattern COUNT = Pattern.compile("\"count\":(\\d+)");

  private final String endpoints;

  Etcdctl(String endpoints) {
    this.endpoints = endpoints;
  }

  /** The output of {@code etcdctl ARGS}; fails the test when etcdctl fails or takes over 20 s. */
  String run(String... args) {
    List<String> cmd = new ArrayList<>(List.of("etcdctl", "--endpoints", endpoints, "--command-timeout=10s"));
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      p.getOutputStream().close();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("etcdctl timed out: " + cmd);
      }
      String text = new String(out, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new AssertionError("etcdctl failed (" + p.exitValue() + "): " + cmd + "\n" + text);
      }
      return text;
    } catch (IOException e) {
      throw new AssertionError("cannot run etcdctl: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The keys {@code etcdctl get -w json ARGS} returns, in its order. */
  List<String> keys(String... args) {
    List<String> full = new ArrayList<>(List.of("get", "-w", "json"));
    full.addAll(List.of(args));
    String json = run(full.toArray(new String[0]));
    List<String> keys = new ArrayList<>();
    Matcher m = KEY.matcher(json);
    while (m.find()) {
      keys.add(new String(Base64.getDecoder().decode(m.group(1)), StandardCharsets.UTF_8));
    }
    return keys;
  }

  long count(String... args) {
    List<String> full = new ArrayList<>(List.of("get", "-w", "json"));
    full.addAll(List.of(args));
    Matcher m = COUNT.matcher(run(full.toArray(new String[0])));
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }
}
