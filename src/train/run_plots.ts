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
import { CORE_FIELDS, type MetricsRecord, readMetrics } from "./metrics.ts";
import type { Callback, TrainContext, TrainEnd } from "./callbacks.ts";
import type { RunFolder } from "./run_folder.ts";

/** Per-step metrics besides the core ones and the monitor's: a method's (BYOL's tau). */
function methodMetricNames(records: MetricsRecord[]): string[] {
  const skip = new Set<string>([...CORE_FIELDS, "knnTop1", "probeTop1", "probeLoss"]);
  const names = new Set<string>();
  for (const r of records) for (const k of Object.keys(r)) if (!skip.has(k)) names.add(k);
  return [...names];
}

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
    lineChartSvg({ title: "Training loss", xLabel: "step", yLabel: "loss", series: lossSeries }),
  );

  // One panel per quantity rather than twin y-axes: the lr and a method's
  // metrics (BYOL's tau) live on unrelated scales.
  const panel = (title: string, yLabel: string, key: string, color: string) => ({
    title,
    xLabel: "step",
    yLabel,
    series: [{ name: key, points: records.map((r) => [r.step, r[key] ?? NaN] as Point), color }],
  });
  const extra = methodMetricNames(records);
  charts.set(
    "schedules",
    stackedChartsSvg({
      width: 800,
      panelHeight: 300,
      panels: [
        panel("Learning rate", "lr", "lr", PALETTE[0]),
        ...extra.map((k, i) =>
          k === "tau"
            ? panel("Target EMA momentum τ", "τ", k, PALETTE[2])
            : panel(k, k, k, PALETTE[(i + 2) % PALETTE.length])
        ),
      ],
    }),
  );

  const monitor = (key: "knnTop1" | "probeTop1") => {
    const byEpoch = new Map<number, number>();
    for (const r of records) {
      const v = r[key];
      if (v !== undefined && Number.isFinite(v)) byEpoch.set(r.epoch, v);
    }
    return [...byEpoch.entries()].sort((a, b) => a[0] - b[0]) as Point[];
  };
  const knn = monitor("knnTop1");
  const probe = monitor("probeTop1");
  if (knn.length > 0 || probe.length > 0) {
    const series: Series[] = [];
    if (knn.length > 0) {
      series.push({ name: "kNN top-1", points: knn, color: PALETTE[1], markers: true });
    }
    if (probe.length > 0) {
      series.push({ name: "online probe top-1", points: probe, color: PALETTE[4], markers: true });
    }
    charts.set(
      "knn",
      lineChartSvg({
        title: probe.length > 0 ? "Monitor accuracy (test split)" : "kNN top-1 accuracy",
        xLabel: "epoch",
        yLabel: "top-1 (%)",
        series,
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

/**
 * The run's charts as a subscriber of the loop: written from metrics.jsonl
 * after the last step of a run that was not interrupted, by the writing
 * process only; a failure is a warning (the run's results stand). `written`
 * lists the files.
 */
export class PlotsCallback implements Callback {
  written: string[] = [];
  #folder: RunFolder | null = null;

  onTrainStart(ctx: TrainContext): void {
    this.#folder = ctx.folder;
  }

  async onTrainEnd(end: TrainEnd): Promise<void> {
    if (this.#folder === null || !this.#folder.writer || end.interrupted) return;
    try {
      this.written = await writeRunPlots(this.#folder.dir);
    } catch (e) {
      console.error(`warning: plots not written: ${(e as Error).message}`);
    }
  }
}
