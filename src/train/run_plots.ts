// A run's charts, drawn from its metrics.jsonl with the chart tools of
// src/report/plots.ts: plots/{loss,schedules,knn}.{svg,png} in the run folder.
import { writeFileAtomic } from "../io/atomic.ts";
import {
  lineChartSvg,
  movingAverage,
  PALETTE,
  type Point,
  type Series,
  smoothingWindow,
  stackedChartsSvg,
  svgToPng,
} from "../report/plots.ts";
import { type MetricsRecord, readMetrics } from "./metrics.ts";

/** Builds the run's charts as SVG strings keyed by base name (knn only if any kNN was logged). */
export function runCharts(records: MetricsRecord[]): Map<string, string> {
  const charts = new Map<string, string>();
  const steps = records.map((r) => r.step);
  const losses = records.map((r) => r.loss);
  const w = smoothingWindow(records.length);
  const lossSeries: Series[] = [{
    name: "loss",
    points: steps.map((s, i) => [s, losses[i]]),
    color: PALETTE[0],
  }];
  if (w > 1) {
    // Raw curve faded underneath, trend on top.
    lossSeries[0] = { ...lossSeries[0], strokeWidth: 1, opacity: 0.35 };
    const avg = movingAverage(losses, w);
    lossSeries.push({
      // The window counts logged lines, which need not be every step.
      name: `moving average (${w} points)`,
      points: steps.map((s, i) => [s, avg[i]]),
      color: PALETTE[3],
    });
  }
  charts.set(
    "loss",
    lineChartSvg({ title: "BYOL loss", xLabel: "step", yLabel: "loss", series: lossSeries }),
  );

  // Two panels rather than twin y-axes: lr and tau live on unrelated scales.
  charts.set(
    "schedules",
    stackedChartsSvg({
      width: 800,
      panelHeight: 300,
      panels: [
        {
          title: "Learning rate",
          xLabel: "step",
          yLabel: "lr",
          series: [{ name: "lr", points: records.map((r) => [r.step, r.lr]), color: PALETTE[0] }],
        },
        {
          title: "Target EMA momentum τ",
          xLabel: "step",
          yLabel: "τ",
          series: [{
            name: "tau",
            points: records.map((r) => [r.step, r.tau]),
            color: PALETTE[2],
          }],
        },
      ],
    }),
  );

  const byEpoch = new Map<number, number>();
  for (const r of records) {
    if (r.knnTop1 !== undefined && Number.isFinite(r.knnTop1)) byEpoch.set(r.epoch, r.knnTop1);
  }
  if (byEpoch.size > 0) {
    const points = [...byEpoch.entries()].sort((a, b) => a[0] - b[0]) as Point[];
    charts.set(
      "knn",
      lineChartSvg({
        title: "kNN top-1 accuracy",
        xLabel: "epoch",
        yLabel: "top-1 (%)",
        series: [{ name: "kNN top-1", points, color: PALETTE[1], markers: true }],
      }),
    );
  }
  return charts;
}

/**
 * Reads `<runDir>/metrics.jsonl` and writes `<runDir>/plots/{loss,schedules,knn}.{svg,png}`
 * (knn only when some line carries knnTop1). Each file is written atomically so a viewer or a
 * concurrent call never sees half a file. Returns the written paths.
 */
export async function writeRunPlots(runDir: string): Promise<string[]> {
  const base = runDir.replace(/\/+$/, "") || "/";
  const records = await readMetrics(`${base}/metrics.jsonl`);
  const outDir = `${base}/plots`;
  await Deno.mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const [name, svg] of runCharts(records)) {
    const svgPath = `${outDir}/${name}.svg`;
    const pngPath = `${outDir}/${name}.png`;
    await writeFileAtomic(svgPath, svg);
    written.push(svgPath);
    await writeFileAtomic(pngPath, await svgToPng(svg));
    written.push(pngPath);
  }
  return written;
}
