// A bench run's report: the header (machine, threads, libtorch, date, load),
// the table of rows with their notes, and the step time split; printed as
// text, and written with the raw results to bench/results/<date>.json,
// latest.json and latest.md.
import { join } from "node:path";
import type { BenchRun } from "./run.ts";
import type { StepDetail } from "./suites/step.ts";
import { fmt as f, mdTable, textTable } from "./tables.ts";

const RESULTS_DIR = new URL("results/", import.meta.url).pathname;

const HEADER = ["benchmark", "unit", "ours", "PyTorch", "speed-up", "goal", "met?", "load"];
const PHASES = ["augment", "forward", "backward", "optimizer", "ema", "free"];
const STEP_HEADER = [
  "step case",
  "variant",
  ...PHASES,
  "total ms",
  "FFI calls",
  "% of peak",
  "RSS MiB",
];
// The step split's title, after "step " (text) or "Step " (Markdown).
const STEP_TITLE =
  "time split (ms, medians), FFI calls per step, model FLOP/s as % of the matmul peak, peak RSS";

function intro(run: BenchRun): string[] {
  const m = run.machine;
  return [
    `machine: ${m.cpu}, ${m.cores} cores, native bf16: ${m.bf16Flags.join(" ") || "none"}; ` +
    `${m.threads} threads on both sides ` +
    `(setNumThreads / torch.set_num_threads, OMP_NUM_THREADS=${m.threads}, ` +
    `OMP_WAIT_POLICY=${m.ompWaitPolicy})`,
    `libtorch ${m.libtorch} (shim); PyTorch twin: ${m.python}`,
    `date: ${m.date}; load average at start ${m.loadAtStart}, at end ${run.loadAtEnd}` +
    (m.quick ? "; --quick" : ""),
    `times: median of repetitions after warm-up; speed-up = how many times faster ours is`,
  ];
}

function rowsBody(run: BenchRun): string[][] {
  return run.rows.map((r) => [
    r.benchmark,
    r.unit,
    f(r.ours),
    f(r.torch),
    Number.isFinite(r.speedup) ? `${r.speedup.toFixed(2)}x` : "-",
    r.goalText,
    r.met === null ? "-" : r.met ? "yes" : "NO",
    r.load.split(" ")[0],
  ]);
}

/** Two lines per step case and variant (e2e, model): ours, then the twin. */
function stepBody(run: BenchRun): string[][] {
  const body: string[][] = [];
  for (const d of (run.details.step ?? []) as StepDetail[]) {
    for (const v of ["e2e", "model"] as const) {
      const ov = d.ours[v], tv = d.torch[v];
      const share = d.flopShareOfPeak;
      body.push([
        d.case,
        `ours ${v}`,
        ...PHASES.map((ph) => f(ov.phases[ph])),
        f(ov.ms),
        String(d.ffiCallsPerStep[v].calls),
        `${(100 * share[v === "e2e" ? "oursE2e" : "oursModel"]).toFixed(0)}%`,
        f(d.peakRssMiB.ours),
      ]);
      body.push([
        "",
        `torch ${v}`,
        ...PHASES.map((ph) => (tv.phases[ph] === undefined ? "-" : f(tv.phases[ph]))),
        f(tv.ms),
        "-",
        `${(100 * share[v === "e2e" ? "torchE2e" : "torchModel"]).toFixed(0)}%`,
        v === "e2e"
          ? `${f(d.peakRssMiB.torch)} (worker ${f(d.peakRssMiB.torchWorkerMax ?? NaN)})`
          : f(d.peakRssMiB.torch),
      ]);
    }
  }
  return body;
}

/** The report as printed on stdout. */
export function reportText(run: BenchRun): string {
  const steps = stepBody(run);
  return [
    intro(run).join("\n") + "\n",
    textTable(HEADER, rowsBody(run)),
    ...run.rows.filter((r) => r.note).map((r) => `  ${r.benchmark}: ${r.note}`),
    ...(steps.length ? [`\nstep ${STEP_TITLE}`, textTable(STEP_HEADER, steps)] : []),
  ].join("\n");
}

/** The report as bench/results/latest.md holds it. */
export function reportMarkdown(run: BenchRun): string {
  const steps = stepBody(run);
  return [
    intro(run).map((l) => `${l}  `).join("\n"),
    "",
    mdTable(HEADER, rowsBody(run)),
    "",
    ...run.rows.filter((r) => r.note).map((r) => `- ${r.benchmark}: ${r.note}`),
    ...(steps.length ? ["", `Step ${STEP_TITLE}:`, "", mdTable(STEP_HEADER, steps)] : []),
    "",
  ].join("\n");
}

/**
 * Writes the run to bench/results/<date>.json, latest.json and latest.md, then
 * runs `deno fmt` over them (written files pass `deno fmt --check` like the
 * rest of the repository); returns <date>.
 */
export async function writeResults(run: BenchRun): Promise<string> {
  const stamp = run.machine.date.replace(/[:]/g, "").replace(/\..*/, "");
  await Deno.mkdir(RESULTS_DIR, { recursive: true });
  const { machine, loadAtEnd, rows, details } = run;
  const json = JSON.stringify({ machine: { ...machine, loadAtEnd }, rows, details }, null, 2) +
    "\n";
  await Deno.writeTextFile(join(RESULTS_DIR, `${stamp}.json`), json);
  await Deno.writeTextFile(join(RESULTS_DIR, "latest.json"), json);
  await Deno.writeTextFile(join(RESULTS_DIR, "latest.md"), reportMarkdown(run));
  await new Deno.Command(Deno.execPath(), {
    args: [
      "fmt",
      "--quiet",
      ...[`${stamp}.json`, "latest.json", "latest.md"].map((n) => join(RESULTS_DIR, n)),
    ],
  }).output();
  return stamp;
}
