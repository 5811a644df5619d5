package io.etcdrecipes.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;

/** Where and with what a run was made. */
record Env(String date, String machine, String os, String jvm, String etcd, String jetcd, String ours,
           String go, String mode, String git) {

  /** {@code go}: the Go client's version, or why its rows are skipped; null when it was not asked for. */
  static Env capture(String etcdVersion, Bench.Options o, String go) {
    String cpu = "unknown CPU";
    int cores = Runtime.getRuntime().availableProcessors();
    long memMb = 0;
    try {
      List<String> info = Files.readAllLines(Path.of("/proc/cpuinfo"));
      cpu = info.stream().filter(l -> l.startsWith("model name")).findFirst()
          .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
      memMb = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal"))
          .findFirst().map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024).orElse(0L);
    } catch (IOException | RuntimeException e) {
      // not Linux: keep the defaults
    }
    String jetcd = io.etcd.jetcd.Client.class.getPackage().getImplementationVersion();
    String mode = o.quick ? "quick" : "full";
    mode += String.format(Locale.ROOT, " (%.1f s x %d round(s) per client and cell, warm-up %.1f s)",
        o.roundSeconds, o.roundsPerClient, o.warmSeconds);
    return new Env(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME).replaceAll("\\.\\d+", ""),
        cpu + ", " + cores + " cores, " + memMb + " MiB",
        System.getProperty("os.name") + " " + System.getProperty("os.version"),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
            + ", " + ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("-X")).reduce((a, b) -> a + " " + b).orElse(""),
        etcdVersion,
        "jetcd-core " + (jetcd == null ? "0.8.5" : jetcd) + " (grpc-java " + io.grpc.Grpc.class.getPackage()
            .getImplementationVersion() + ")",
        "etcd-recipes " + (Bench.class.getPackage().getImplementationVersion() == null ? "0.1.0-SNAPSHOT"
            : Bench.class.getPackage().getImplementationVersion()),
        go == null ? "" : go, mode, o.gitCommit);
  }

  /** {@code etcd --version}'s first line, of the binary the testkit uses. */
  static String etcdVersion() {
    String bin = System.getenv("ETCD_BINARY") == null ? "etcd" : System.getenv("ETCD_BINARY");
    try {
      Process p = new ProcessBuilder(bin, "--version").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor(10, TimeUnit.SECONDS);
      String first = out.lines().findFirst().orElse("?");
      return first.replace("etcd Version: ", "") + ", 1 member, fsync on";
    } catch (IOException e) {
      return "? (" + e.getMessage() + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "?";
    }
  }

  List<String> lines() {
    return List.of("date:    " + date, "machine: " + machine, "os:      " + os, "java:    " + jvm,
        "etcd:    " + etcd, "clients: " + ours + " vs " + jetcd + (go.isEmpty() ? "" : " vs " + go), "run:     " + mode
            + (git.isEmpty() ? "" : ", commit " + git));
  }
}
