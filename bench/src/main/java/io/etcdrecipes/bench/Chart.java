package io.etcdrecipes.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;

/** A PNG bar chart of ours vs jetcd and Go's clientv3, drawn with Java2D (no dependencies): throughput and CPU per op. */
final class Chart {

  static final Color OURS = new Color(0x1f77b4);
  static final Color JETCD = new Color(0xff7f0e);
  static final Color GO = new Color(0x2ca02c);
  private static final int W = 1500;
  private static final int H = 980;
  private static final int LOCK_H = 440;

  private Chart() {}

  /** One group of bars: a workload at a concurrency, ours, jetcd's and Go's (either may be null). */
  private record Group(String label, Row ours, Row jetcd, Row go) {}

  static void write(List<Row> rows, Env env, Path file) throws IOException {
    System.setProperty("java.awt.headless", "true");
    List<Group> groups = new ArrayList<>();
    for (Row r : rows) {
      if (!r.client().equals(OursTarget.NAME) || r.workload().startsWith("lkv-")
          || r.workload().equals(ElectionWorkload.CRASH)) {
        continue; // leasing rows compare our own modes, a crash's failover is seconds: the table has them
      }
      Row j = Report.peer(rows, r, JetcdTarget.NAME);
      String label = switch (r.workload()) {
        case "get-linearizable" -> "get-lin";
        case "get-serializable" -> "get-ser";
        case "lease-keepalive" -> "lease";
        default -> r.workload();
      };
      if (LockWorkload.NAMES.contains(r.workload())) {
        label = switch (r.workload()) {
          case LockWorkload.LOCK -> "lock";
          case LockWorkload.CONTENDED -> "contended ×" + r.concurrency();
          case LockWorkload.HANDOFF -> "handoff @" + r.concurrency();
          default -> "sem " + r.extra().get("permits") + "/" + r.concurrency() + " (ours)";
        };
      } else if (r.workload().equals(ElectionWorkload.RESIGN)) {
        label = "election ×" + r.concurrency();
      } else if (r.workload().equals("watch")) {
        label = "watch";
      } else if (r.workload().equals("lease-keepalive")) {
        label = "leases 10k";
      } else if (!r.workload().equals("stm")) {
        label += " @" + r.concurrency();
      }
      groups.add(new Group(label, r, j, Report.peer(rows, r, GoTarget.NAME)));
    }
    List<Group> locks = groups.stream().filter(x -> lockPanel(x.ours())).toList();
    groups = groups.stream().filter(x -> !lockPanel(x.ours())).toList();
    int height = locks.isEmpty() ? H : H + LOCK_H;
    BufferedImage img = new BufferedImage(W, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, W, height);
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 20));
    g.drawString("etcd-recipes vs jetcd vs Go clientv3 — same etcd, one cell at a time, rotating", 30, 34);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
    g.drawString(env.etcd() + "  ·  " + env.machine() + "  ·  " + env.date() + "  ·  " + env.mode(), 30, 56);
    legend(g, W - 470, 26);

    List<Group> kv = groups.stream().filter(x -> !x.ours().workload().equals("lease-keepalive")
        && !x.ours().workload().equals("stm")).toList();
    panel(g, kv, 90, 420, 70, W - 30, "throughput: ops/s (watch: events/s) — higher is better", Row::opsPerS, "%.0f",
        false);
    List<Group> cpu = groups.stream().filter(x -> x.jetcd() != null || x.go() != null).toList();
    panel(g, cpu, 540, 400, 70, W - 30, "client CPU per op: µs (client process CPU / ops; lease: per renewal) — lower "
        + "is better; bars cut at the top are taller", r -> r.cpuNsPerOp() / 1e3, "%.1f", true);
    if (!locks.isEmpty()) {
      panel(g, locks, H - 20, LOCK_H, 70, W / 2 - 20, "locks, elections: cycles/s (handoff: handoffs/s) — higher is"
          + " better", Row::opsPerS, "%.0f", false);
      panel(g, locks, H - 20, LOCK_H, W / 2 + 50, W - 30, "p50 ms (acquire; handoff, election: release → next)"
          + " — lower is better", r -> r.p50Us() / 1e3, "%.1f", false);
    }
    g.dispose();
    ImageIO.write(img, "png", file.toFile());
  }

  /** Rows drawn in the bottom panels: locks and elections (cycles and handoffs, not ops of the KV scale). */
  private static boolean lockPanel(Row r) {
    return LockWorkload.NAMES.contains(r.workload()) || ElectionWorkload.NAMES.contains(r.workload());
  }

  private static void legend(Graphics2D g, int x, int y) {
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 15));
    g.setColor(OURS);
    g.fillRect(x, y - 12, 16, 14);
    g.setColor(Color.BLACK);
    g.drawString("etcd-recipes", x + 22, y);
    g.setColor(JETCD);
    g.fillRect(x + 150, y - 12, 16, 14);
    g.setColor(Color.BLACK);
    g.drawString("jetcd 0.8.5", x + 172, y);
    g.setColor(GO);
    g.fillRect(x + 290, y - 12, 16, 14);
    g.setColor(Color.BLACK);
    g.drawString("Go clientv3", x + 312, y);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    g.drawString("under the bars: ours ÷ jetcd (j), ours ÷ Go (g)", x, y + 22);
  }

  private static void panel(Graphics2D g, List<Group> groups, int top, int height, int left, int right, String title,
                            ToDoubleFunction<Row> metric, String fmt, boolean clipLowConcurrency) {
    int bottom = top + height - 60;
    int plotTop = top + 30;
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
    g.drawString(title, left, top + 12);
    double max = 0;
    for (Group gr : groups) {
      if (clipLowConcurrency && gr.ours().concurrency() == 1) {
        continue; // at 1 in flight CPU per call is mostly thread wake-ups: scale to the rest, cut these
      }
      for (Row r : new Row[] {gr.ours(), gr.jetcd(), gr.go()}) {
        if (r != null) {
          max = Math.max(max, metric.applyAsDouble(r));
        }
      }
    }
    if (max <= 0 || groups.isEmpty()) {
      return;
    }
    double scale = niceCeiling(max);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
    g.setStroke(new BasicStroke(1f));
    for (int i = 0; i <= 5; i++) {
      int y = bottom - (int) ((bottom - plotTop) * i / 5.0);
      g.setColor(new Color(0xdddddd));
      g.drawLine(left, y, right, y);
      g.setColor(Color.DARK_GRAY);
      String t = String.format(Locale.ROOT, scale >= 100 ? "%.0f" : "%.1f", scale * i / 5);
      g.drawString(t, left - 8 - g.getFontMetrics().stringWidth(t), y + 4);
    }
    int n = groups.size();
    double slot = (right - left) / (double) n;
    int bar = (int) Math.min(30, slot * 0.27);
    for (int i = 0; i < n; i++) {
      Group gr = groups.get(i);
      int cx = left + (int) (slot * i + slot / 2);
      Row[] bars = {gr.ours(), gr.jetcd(), gr.go()};
      Color[] colors = {OURS, JETCD, GO};
      for (int k = 0; k < bars.length; k++) {
        if (bars[k] != null) {
          double v = metric.applyAsDouble(bars[k]);
          drawBar(g, cx - 3 * bar / 2 + k * bar, bar - 1, bottom, plotTop, v / scale, colors[k],
              String.format(Locale.ROOT, fmt, v));
        }
      }
      g.setColor(Color.BLACK);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      FontMetrics fm = g.getFontMetrics();
      g.drawString(gr.label(), cx - fm.stringWidth(gr.label()) / 2, bottom + 16);
      g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 11));
      int line = 0;
      for (Row other : new Row[] {gr.jetcd(), gr.go()}) {
        line++;
        if (other != null && metric.applyAsDouble(other) > 0) {
          String ratio = String.format(Locale.ROOT, "%s×%.2f", line == 1 ? "j " : "g ",
              metric.applyAsDouble(gr.ours()) / metric.applyAsDouble(other));
          g.setColor(line == 1 ? JETCD.darker() : GO.darker());
          g.drawString(ratio, cx - g.getFontMetrics().stringWidth(ratio) / 2, bottom + 18 + 13 * line);
        }
      }
    }
    g.setColor(Color.BLACK);
    g.drawLine(left, bottom, right, bottom);
  }

  private static void drawBar(Graphics2D g, int x, int w, int bottom, int top, double fraction, Color c, String label) {
    int h = (int) Math.round((bottom - top) * Math.min(1, fraction));
    g.setColor(c);
    g.fillRect(x, bottom - h, w, h);
    if (fraction > 1) { // cut: a white zigzag near the top
      g.setColor(Color.WHITE);
      g.setStroke(new BasicStroke(3f));
      g.drawLine(x - 1, bottom - h + 14, x + w / 2, bottom - h + 8);
      g.drawLine(x + w / 2, bottom - h + 8, x + w + 1, bottom - h + 14);
      g.setStroke(new BasicStroke(1f));
    }
    g.setColor(Color.DARK_GRAY);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 9));
    FontMetrics fm = g.getFontMetrics();
    g.drawString(label, x + w / 2 - fm.stringWidth(label) / 2, bottom - h - 3);
  }

  private static double niceCeiling(double v) {
    double p = Math.pow(10, Math.floor(Math.log10(v)));
    for (double m : new double[] {1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10}) {
      if (m * p >= v) {
        return m * p;
      }
    }
    return 10 * p;
  }
}
