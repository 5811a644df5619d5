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

/** A PNG bar chart of ours vs jetcd, drawn with Java2D (no dependencies): throughput and CPU per op. */
final class Chart {

  static final Color OURS = new Color(0x1f77b4);
  static final Color JETCD = new Color(0xff7f0e);
  private static final int W = 1500;
  private static final int H = 980;
  private static final int LOCK_H = 440;

  private Chart() {}

  /** One group of bars: a workload at a concurrency, ours and jetcd. */
  private record Group(String label, Row ours, Row jetcd) {}

  static void write(List<Row> rows, Env env, Path file) throws IOException {
    System.setProperty("java.awt.headless", "true");
    List<Group> groups = new ArrayList<>();
    for (Row r : rows) {
      if (!r.client().equals(OursTarget.NAME) || r.workload().startsWith("lkv-")
          || r.workload().equals(ElectionWorkload.CRASH)) {
        continue; // leasing rows compare our own modes, a crash's failover is seconds: the table has them
      }
      Row j = rows.stream().filter(x -> x.client().equals(JetcdTarget.NAME) && x.workload().equals(r.workload())
          && x.concurrency() == r.concurrency()).findFirst().orElse(null);
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
      groups.add(new Group(label, r, j));
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
    g.drawString("etcd-recipes vs jetcd — same JVM, same etcd, alternating", 30, 34);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
    g.drawString(env.etcd() + "  ·  " + env.machine() + "  ·  " + env.date() + "  ·  " + env.mode(), 30, 56);
    legend(g, W - 330, 26);

    List<Group> kv = groups.stream().filter(x -> !x.ours().workload().equals("lease-keepalive")
        && !x.ours().workload().equals("stm")).toList();
    panel(g, kv, 90, 420, 70, W - 30, "throughput: ops/s (watch: events/s) — higher is better", Row::opsPerS, "%.0f",
        false);
    List<Group> cpu = groups.stream().filter(x -> x.jetcd() != null).toList();
    panel(g, cpu, 540, 400, 70, W - 30, "client CPU per op: µs (JVM process CPU / ops; lease: per renewal) — lower is "
        + "better; bars cut at the top are taller", r -> r.cpuNsPerOp() / 1e3, "%.1f", true);
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
      max = Math.max(max, metric.applyAsDouble(gr.ours()));
      if (gr.jetcd() != null) {
        max = Math.max(max, metric.applyAsDouble(gr.jetcd()));
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
    int bar = (int) Math.min(38, slot * 0.36);
    for (int i = 0; i < n; i++) {
      Group gr = groups.get(i);
      int cx = left + (int) (slot * i + slot / 2);
      drawBar(g, cx - bar - 1, bar, bottom, plotTop, metric.applyAsDouble(gr.ours()) / scale, OURS,
          String.format(Locale.ROOT, fmt, metric.applyAsDouble(gr.ours())));
      if (gr.jetcd() != null) {
        drawBar(g, cx + 1, bar, bottom, plotTop, metric.applyAsDouble(gr.jetcd()) / scale, JETCD,
            String.format(Locale.ROOT, fmt, metric.applyAsDouble(gr.jetcd())));
      }
      g.setColor(Color.BLACK);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      FontMetrics fm = g.getFontMetrics();
      g.drawString(gr.label(), cx - fm.stringWidth(gr.label()) / 2, bottom + 16);
      if (gr.jetcd() != null && metric.applyAsDouble(gr.jetcd()) > 0) {
        String ratio = String.format(Locale.ROOT, "×%.2f", metric.applyAsDouble(gr.ours()) / metric.applyAsDouble(gr.jetcd()));
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 12));
        g.drawString(ratio, cx - g.getFontMetrics().stringWidth(ratio) / 2, bottom + 32);
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
