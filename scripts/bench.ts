// `deno task bench`: our toolkit against PyTorch on the same libtorch, each
// benchmark side by side in one run, each side in its own process (so peak
// memory is per benchmark), the same thread count on both sides.
//
//   deno task bench [--only name,name] [--quick] [--threads N] [--step-case text]
//                   [--torch-channels-last] [--torch-malloc] [--ours-nchw]
//
// Benchmarks: matmul (the machine's float32 peak), op, resnet18, ema, optim,
// augment, step, ddp (2 local ranks per side: bench/ddp_rank.ts, bench/py/ddp.py). Prints one table and writes bench/results/<date>.json,
// bench/results/latest.json and bench/results/latest.md.
import { BF16_CPU_FLAGS, readCpuFlags } from "../src/train/precision.ts";
import { Command, Option } from "../deps/commander.ts";
import { join } from "node:path";
import { PRESETS } from "../src/train/config.ts";
import type { CaseParams } from "../bench/cases/params.ts";
import { median } from "../bench/lib.ts";
import { readShimInfo, referencePython } from "../ffi/shim_path.ts";

const ROOT = new URL("..", import.meta.url).pathname;
// The PyTorch twin runs on the shim's own libtorch line (build-info's referencePython).
const PYTHON = referencePython();
const ALL = ["matmul", "op", "resnet18", "ema", "optim", "augment", "step", "ddp"] as const;
type Name = typeof ALL[number];

const program = new Command()
  .name("deno task bench")
  .description(
    "each benchmark side by side with its PyTorch twin on the same libtorch, in one run; " +
      "writes bench/results/<date>.json, latest.json and latest.md",
  )
  .option("--only <names>", `comma-separated benchmarks: ${ALL.join(", ")} (default: all)`)
  .option("--quick", "fewer repetitions", false)
  // Our step in NCHW (as `deno task train --no-channels-last`), for an A/B of the layout.
  .option("--ours-nchw", "our step in NCHW (as --no-channels-last)", false)
  // The PyTorch twins with glibc malloc tuned as our shim tunes it (env tunables).
  .option(
    "--torch-malloc",
    "PyTorch twins with glibc keeping freed memory mapped (mmap threshold 1 GiB, no trim)",
    false,
  )
  // The PyTorch twin of the step in channels-last too (the common recipe is NCHW).
  .option("--torch-channels-last", "the PyTorch step twin in channels-last too", false)
  .option(
    "--step-case <text>",
    'only the step cases whose label contains this ("convnet 28x28x1 default b32")',
  )
  .addOption(
    new Option("--precision <list>", "step precisions, comma-separated: 32, bf16-mixed")
      .default("32"),
  )
  .option("--threads <n>", "threads on both sides", String(navigator.hardwareConcurrency || 2))
  // libgomp's default (active) spin-waits at every barrier: on a machine
  // shared with other busy processes a 2-thread op then costs milliseconds.
  // Passive waiting is set on both sides unless --omp-wait active.
  .addOption(
    new Option("--omp-wait <mode>", "OMP_WAIT_POLICY on both sides").choices(["passive", "active"])
      .default("passive"),
  )
  .showHelpAfterError();
program.parse(["deno", "bench", ...Deno.args]);
const opts = program.opts();
const threads = Number(opts.threads);
if (!(Number.isInteger(threads) && threads > 0)) {
  program.error(`--threads must be a positive integer, got ${opts.threads}`);
}
const quick = opts.quick;
const ompWait = opts.ompWait;
const only = opts.only?.split(",").map((s) => s.trim()).filter(Boolean) ??
  (opts.stepCase !== undefined ? ["step"] : [...ALL]);
for (const n of only) {
  if (!(ALL as readonly string[]).includes(n)) {
    program.error(`--only: unknown benchmark "${n}"; known: ${ALL.join(", ")}`);
  }
}
const selected = new Set(only as Name[]);
const cpuHasAmx = () => readCpuFlags().includes("amx_bf16");
const precisions = String(opts.precision).split(",").map((s) => s.trim()).filter(Boolean);
for (const pr of precisions) {
  if (pr !== "32" && pr !== "bf16-mixed") {
    program.error(`--precision: "${pr}" is not 32 or bf16-mixed`);
  }
}
// The FLOP/s share of the step needs the matmul peak of the same run.
if (selected.has("step")) selected.add("matmul");

// ---- running one side ----

interface SideOut {
  result: Record<string, unknown>;
  peakRssMiB: number;
  childPeakRssMiB?: number;
}

const dec = new TextDecoder();

async function runChild(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<SideOut> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    env: { OMP_NUM_THREADS: String(threads), OMP_WAIT_POLICY: ompWait.toUpperCase(), ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = dec.decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args[0]} failed:\n${dec.decode(out.stderr)}\n${stdout}`);
  }
  const last = stdout.trim().split("\n").pop()!;
  return JSON.parse(last) as SideOut;
}

function ours(name: string, p: CaseParams): Promise<SideOut> {
  return runChild(Deno.execPath(), ["run", "-A", "bench/ours.ts", name, JSON.stringify(p)], {});
}

// Our shim keeps freed CPU tensor memory mapped (native/cpu_cache.cpp); the
// nearest a stock PyTorch process gets is glibc's mmap threshold raised and
// trimming off (what the shim itself did before its caching allocator).
const TORCH_MALLOC_ENV = {
  MALLOC_MMAP_THRESHOLD_: String(1 << 30),
  MALLOC_TRIM_THRESHOLD_: String(2 ** 62),
};

function torch(name: string, p: Record<string, unknown>): Promise<SideOut> {
  return runChild(PYTHON, [`bench/py/${name}.py`, JSON.stringify(p)], {
    PYTHONPATH: `${join(ROOT, "bench/py")}:${join(ROOT, "tests/py")}`,
    ...(opts.torchMalloc ? TORCH_MALLOC_ENV : {}),
  });
}

// ---- the machine ----

async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    return dec.decode((await new Deno.Command(cmd, { args, stdout: "piped" }).output()).stdout);
  } catch {
    return "";
  }
}
const loadavg = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
const lscpu = await sh("lscpu", []);
const field = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, "m").exec(lscpu)?.[1]?.trim() ?? "?";
const machine = {
  cpu: field("Model name"),
  cores: navigator.hardwareConcurrency,
  // The CPU's native bf16 flags (amx_bf16, avx512_bf16): what bf16-mixed rows depend on.
  bf16Flags: BF16_CPU_FLAGS.filter((f) => readCpuFlags().includes(f)),
  threads,
  ompWaitPolicy: ompWait,
  deno: Deno.version.deno,
  // Both sides' libtorch: the shim's build and the twin's Python (the same line).
  libtorch: readShimInfo()?.torchVersion ?? "?",
  python: PYTHON,
  date: new Date().toISOString(),
  loadAtStart: loadavg(),
  quick,
};

// ---- rows ----

type Better = "higher" | "lower";
interface Row {
  benchmark: string;
  unit: string;
  ours: number;
  torch: number;
  better: Better;
  /** Speed-up: how many times faster ours is (>1: ours faster). */
  speedup: number;
  goal: number | null;
  goalText: string;
  met: boolean | null;
  load: string;
  note?: string;
}
const rows: Row[] = [];
const details: Record<string, unknown> = {};

function addRow(
  benchmark: string,
  unit: string,
  o: number,
  t: number,
  better: Better,
  goal: number | null,
  goalText: string,
  note?: string,
): void {
  const speedup = better === "higher" ? o / t : t / o;
  rows.push({
    benchmark,
    unit,
    ours: o,
    torch: t,
    better,
    speedup,
    goal,
    goalText,
    met: goal === null ? null : speedup >= goal,
    load: loadavg(),
    note,
  });
}

const base = quick
  ? { threads, warmup: 1, reps: 3, budgetMs: 4_000 }
  : { threads, warmup: 2, reps: 7, budgetMs: 15_000 };
const log = (s: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`);
const num = (x: unknown) => x as number;

// Each pair runs ours, then PyTorch.
async function pair(name: string, p: Record<string, unknown>): Promise<[SideOut, SideOut]> {
  const shown = Object.entries(p).filter(([k]) => k !== "config").map(([k, v]) => `${k}=${v}`);
  log(`${name} ${shown.join(" ")} (load ${loadavg()})`);
  const o = await ours(name, { ...base, ...p } as CaseParams);
  const t = await torch(name, { ...base, ...p });
  return [o, t];
}

let peakGflops = NaN;
if (selected.has("matmul")) {
  const [o, t] = await pair("matmul", {});
  peakGflops = Math.max(num(o.result.gflops), num(t.result.gflops));
  details.matmul = { ours: o, torch: t };
  addRow(
    "matmul 512x512x4096 f32",
    "GFLOP/s",
    num(o.result.gflops),
    num(t.result.gflops),
    "higher",
    null,
    "-",
  );
}

if (selected.has("op")) {
  const n = quick ? 20_000 : 200_000;
  const [o, t] = await pair("op", { n });
  details.op = { ours: o, torch: t };
  const goalText = ">= 1.25 (time <= 0.8x)";
  addRow(
    `op a.add(b), dispose (N=${n})`,
    "ns/op",
    num(o.result.nsDispose),
    num(t.result.nsPerOp),
    "lower",
    1.25,
    goalText,
  );
  addRow(
    `op a.add(b), in tidy (N=${n})`,
    "ns/op",
    num(o.result.nsTidy),
    num(t.result.nsPerOp),
    "lower",
    1.25,
    goalText,
  );
}

if (selected.has("resnet18")) {
  const batch = quick ? 16 : 128;
  const [o, t] = await pair("resnet18", { batch, warmup: 1, reps: quick ? 2 : 3 });
  details.resnet18 = { ours: o, torch: t };
  addRow(
    `resnet18 cifar fwd+bwd b${batch}`,
    "img/s",
    num(o.result.imagesPerSec),
    num(t.result.imagesPerSec),
    "higher",
    1.0,
    ">= 1.0",
  );
}

if (selected.has("ema")) {
  const [o, t] = await pair("ema", { reps: quick ? 5 : 15 });
  details.ema = { ours: o, torch: t };
  addRow(
    "ema resnet18+projector (vs per-param loop)",
    "ms",
    num(o.result.ms),
    num(t.result.ms),
    "lower",
    3,
    ">= 3",
    `torch._foreach: ${num(t.result.foreachMs).toFixed(2)} ms`,
  );
}

if (selected.has("optim")) {
  const [o, t] = await pair("optim", { reps: quick ? 5 : 11 });
  details.optim = { ours: o, torch: t };
  const om = o.result.ms as Record<string, number>;
  const tm = t.result.ms as Record<string, number>;
  for (const k of ["LARS", "AdamW", "SGD"]) {
    const f = tm[`${k} foreach`];
    addRow(
      `optim ${k} step resnet18+projector`,
      "ms",
      om[k],
      tm[k],
      "lower",
      null,
      "-",
      f === undefined ? "LARS hand-written in PyTorch" : `foreach=True: ${f.toFixed(2)} ms`,
    );
  }
}

if (selected.has("augment")) {
  const { presets } = await import("../src/augment/presets.ts");
  const batch = quick ? 64 : 256;
  const p = { batch, shape: [3, 32, 32], preset: "cifar", config: presets.cifar };
  const [o, t] = await pair("augment", { ...p, reps: quick ? 3 : 7 });
  details.augment = { ours: o, torch: t };
  addRow(
    `augment cifar two views b${batch}`,
    "ms/batch",
    num(o.result.ms),
    num(t.result.ms),
    "lower",
    5,
    ">= 5",
    "PyTorch: DataLoader, 2 workers",
  );
}

interface StepCase {
  label: string;
  preset: string;
  batch: number;
}
const stepCases: StepCase[] = quick
  ? [
    { label: "resnet18 32x32x3 cifar", preset: "cifar10-resnet18", batch: 32 },
    { label: "convnet 28x28x1 default", preset: "fashion-mnist", batch: 32 },
  ]
  : [
    ...[256, 32].flatMap((batch) => [
      { label: "resnet18 32x32x3 cifar", preset: "cifar10-resnet18", batch },
      { label: "resnet18 28x28x1 fmnist", preset: "fashion-mnist-resnet18", batch },
      { label: "convnet 28x28x1 default", preset: "fashion-mnist", batch },
    ]),
    // The default run itself: its preset's own batch.
    {
      label: "convnet 28x28x1 default",
      preset: "fashion-mnist",
      batch: PRESETS["fashion-mnist"].batchSize!,
    },
  ];

const stepFilter = opts.stepCase;
if (stepFilter !== undefined) {
  const kept = stepCases.filter((c) => `${c.label} b${c.batch}`.includes(stepFilter));
  if (kept.length === 0) {
    throw new Error(
      `--step-case "${stepFilter}" matches none of: ${
        stepCases.map((c) => `${c.label} b${c.batch}`).join("; ")
      }`,
    );
  }
  stepCases.splice(0, stepCases.length, ...kept);
  selected.add("step");
}

interface Variant {
  ms: number;
  pairsPerSec: number;
  all: number[];
  phases: Record<string, number>;
}
const stepDetails: Record<string, unknown>[] = [];
if (selected.has("step")) {
  const tmp = await Deno.makeTempDir({ prefix: "byol-bench-" });
  for (const c of stepCases) {
    // Our e2e pairs/s by precision, for the bf16-vs-fp32 row.
    const e2eByPrecision: Record<string, number> = {};
    for (const precision of precisions) {
      const heavy = c.preset !== "fashion-mnist" && c.batch >= 128;
      // The convnet's step takes ~0.1 s: many repetitions make its median steady.
      const reps = quick
        ? { warmup: 1, reps: 2 }
        : heavy
        ? { warmup: 1, reps: 3 }
        : c.preset === "fashion-mnist"
        ? { warmup: 3, reps: 25 }
        : { warmup: 1, reps: 5 };
      const checkPath = join(tmp, `check-${c.preset}-${c.batch}.safetensors`);
      log(`step ${c.label} b${c.batch} (load ${loadavg()})`);
      const o = await ours("step", {
        ...base,
        ...reps,
        preset: c.preset,
        batch: c.batch,
        checkPath,
        oursNchw: opts.oursNchw,
        precision,
      });
      const t = await torch("step", {
        ...base,
        ...reps,
        recipe: o.result.recipe,
        checkPath,
        channelsLast: opts.torchChannelsLast,
        precision,
      });
      const om = o.result.model as Variant, oe = o.result.e2e as Variant;
      const tm = t.result.model as Variant, te = t.result.e2e as Variant;
      const lossOurs = num(o.result.checkLoss), lossTorch = num(t.result.checkLoss);
      const lossOk = Math.abs(lossOurs - lossTorch) <= 1e-4 * Math.max(1, Math.abs(lossTorch));
      const flops = num(t.result.stepFlops);
      const share = (v: Variant) => flops / (v.ms / 1e3) / 1e9 / peakGflops;
      const r = o.result.recipe as { optimizer: string };
      // Against a tuned PyTorch twin (channels-last, malloc), or with ours in NCHW, the rows are
      // for information: no goal.
      const torchTuned = opts.torchChannelsLast || opts.torchMalloc;
      const oursNchw = opts.oursNchw;
      const name = `step ${c.label} b${c.batch} ${r.optimizer}` +
        (precision === "32" ? "" : ` ${precision}`) +
        (oursNchw ? " (ours NCHW)" : "") +
        (opts.torchChannelsLast ? " (PyTorch channels-last)" : "") +
        (opts.torchMalloc ? " (PyTorch malloc tuned)" : "");
      // The speed issue's CPU goals: end-to-end >= 1.15x; model-only >= 1.0x at
      // batch 256 and >= 1.1x at batch 32, where per-op overhead shows.
      const modelGoal = c.batch >= 256 ? 1.0 : 1.1;
      const lossNote = lossOk ? "loss check ok" : `LOSS MISMATCH ${lossOurs} vs ${lossTorch}`;
      addRow(
        `${name} end-to-end`,
        "pairs/s",
        oe.pairsPerSec,
        te.pairsPerSec,
        "higher",
        torchTuned || oursNchw ? null : 1.15,
        torchTuned || oursNchw ? "-" : ">= 1.15x",
        lossNote,
      );
      addRow(
        `${name} model-only`,
        "pairs/s",
        om.pairsPerSec,
        tm.pairsPerSec,
        "higher",
        torchTuned || oursNchw ? null : modelGoal,
        torchTuned || oursNchw ? "-" : `>= ${modelGoal.toFixed(1)}x`,
        lossNote,
      );
      e2eByPrecision[precision] = oe.pairsPerSec;
      stepDetails.push({
        case: name,
        precision,
        batch: c.batch,
        recipe: o.result.recipe,
        lossCheck: { ours: lossOurs, torch: lossTorch, ok: lossOk },
        stepGflop: flops / 1e9,
        flopShareOfPeak: {
          oursModel: share(om),
          torchModel: share(tm),
          oursE2e: share(oe),
          torchE2e: share(te),
        },
        peakRssMiB: {
          ours: o.peakRssMiB,
          torch: t.peakRssMiB,
          torchWorkerMax: t.childPeakRssMiB,
        },
        ffiCallsPerStep: o.result.ffi,
        liveTensorsDelta: o.result.liveTensorsDelta,
        ours: { model: om, e2e: oe },
        torch: { model: tm, e2e: te },
        load: loadavg(),
      });
    }
    if (e2eByPrecision["32"] && e2eByPrecision["bf16-mixed"]) {
      // Issue 14's goal on a CPU with AMX: bf16-mixed >= 2x fp32 for the default preset.
      const goal = c.preset === "fashion-mnist" && cpuHasAmx() ? 2.0 : null;
      addRow(
        `step ${c.label} b${c.batch} ours bf16-mixed vs ours 32, end-to-end`,
        "pairs/s",
        e2eByPrecision["bf16-mixed"],
        e2eByPrecision["32"],
        "higher",
        goal,
        goal === null ? "-" : ">= 2.0x",
        "columns: ours bf16-mixed, ours 32",
      );
    }
  }
  await Deno.remove(tmp, { recursive: true });
  details.step = stepDetails;
}

// ---- ddp: two local ranks per side over Gloo on loopback ----

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Runs `world` ranks of one side (each with `perRank` threads); rank 0's JSON. */
async function ranks(
  side: "ours" | "torch",
  mode: string,
  world: number,
  perRank: number,
  p: Record<string, unknown>,
): Promise<SideOut> {
  const port = String(freePort());
  const json = JSON.stringify({ ...base, ...p, threads: perRank });
  const env = {
    OMP_NUM_THREADS: String(perRank),
    GLOO_SOCKET_IFNAME: "lo",
    ...(side === "torch"
      ? { PYTHONPATH: `${join(ROOT, "bench/py")}:${join(ROOT, "tests/py")}` }
      : {}),
  };
  const outs = await Promise.all(
    Array.from(
      { length: world },
      (_, r) =>
        side === "ours"
          ? runChild(Deno.execPath(), [
            "run",
            "-A",
            "bench/ddp_rank.ts",
            mode,
            String(r),
            String(world),
            port,
            json,
          ], env)
            .catch((e) => (r === 0 ? Promise.reject(e) : null))
          : runChild(PYTHON, ["bench/py/ddp.py", mode, String(r), String(world), port, json], env)
            .catch((e) => (r === 0 ? Promise.reject(e) : null)),
    ),
  );
  return outs[0]!;
}

if (selected.has("ddp")) {
  // Rank 1 prints nothing: runChild's JSON parse of an empty stdout throws, caught above.
  log(`ddp all-reduce 2 ranks (load ${loadavg()})`);
  // A few alternating rounds (each side's median of its rounds' medians): a
  // single round of each moves by 10-20% with the machine's state.
  const rounds = quick ? 1 : 3;
  const oursMs: number[] = [];
  const torchMs: number[] = [];
  let o: SideOut | null = null;
  for (let i = 0; i < rounds; i++) {
    o = await ranks("ours", "allreduce", 2, 1, {});
    oursMs.push(num(o.result.ms));
    torchMs.push(num((await ranks("torch", "allreduce", 2, 1, {})).result.ms));
  }
  addRow(
    `ddp all-reduce ResNet-18 grads (${(num(o!.result.floats) / 1e6).toFixed(1)}M f32), 2 ranks`,
    "ms",
    median(oursMs),
    median(torchMs),
    "lower",
    0.95,
    ">= 0.95",
    `ours: DistributedDataParallel.syncGradients, ${o!.result.tensors} gradients in ` +
      `${o!.result.buckets} persistent buckets, averaged; PyTorch: dist.all_reduce of one flat ` +
      `buffer; median of ${rounds} alternating rounds (ours ${oursMs.map((x) => x.toFixed(1))}, ` +
      `PyTorch ${torchMs.map((x) => x.toFixed(1))} ms)`,
  );
  const batch = quick ? 32 : 64;
  const stepP = { batch, side: 32 };
  log(`ddp BYOL step b${batch} (load ${loadavg()})`);
  const o2 = await ranks("ours", "step", 2, 1, stepP);
  const t2 = await ranks("torch", "step", 2, 1, stepP);
  const o1 = await ranks("ours", "step", 1, 2, stepP);
  const oOff = await ranks("ours", "step", 2, 1, { ...stepP, overlap: false });
  const oPlain = await ranks("ours", "step", 2, 1, { ...stepP, syncBatchNorm: false });
  addRow(
    `ddp BYOL step resnet18 32x32 b${batch}, 2 ranks x 1 thread`,
    "ms",
    num(o2.result.ms),
    num(t2.result.ms),
    "lower",
    1.0,
    ">= 1.0",
    "ours with SyncBatchNorm and DDP; PyTorch DDP (gloo) with plain BatchNorm",
  );
  // The rows below compare two of our own configurations (or ours with the twin) without a goal.
  const stepRow = (label: string, ours: SideOut, other: SideOut, note: string) =>
    addRow(label, "ms", num(ours.result.ms), num(other.result.ms), "lower", null, "-", note);
  stepRow(
    `ddp BYOL step b${batch}, 2 ranks x 1 thread, plain BatchNorm on both sides`,
    oPlain,
    t2,
    "like for like: ours DDP without SyncBatchNorm (per-rank BN statistics, as the twin's)",
  );
  stepRow(
    `ddp BYOL step b${batch}: ours 2 ranks x 1 thread vs ours 1 rank x 2 threads`,
    o2,
    o1,
    "what splitting one machine into ranks costs (the PyTorch column is ours, 1 rank)",
  );
  stepRow(
    `ddp BYOL step b${batch}: ours overlapped vs ours all-reduce after backward, 2 ranks`,
    o2,
    oOff,
    `the PyTorch column is ours with overlapBackward: false; backward launched ` +
      `${o2.result.launchedInBackward} buckets itself`,
  );
  details.ddp = {
    allreduce: { ours: o, oursMs, torchMs },
    step: { ours2: o2, torch2: t2, ours1: o1, oursNoOverlap: oOff, oursPlainBn: oPlain },
  };
}

// ---- output ----

const f = (x: number) =>
  !Number.isFinite(x)
    ? "-"
    : Math.abs(x) >= 100
    ? x.toFixed(0)
    : Math.abs(x) >= 10
    ? x.toFixed(1)
    : x.toFixed(2);

const header = ["benchmark", "unit", "ours", "PyTorch", "speed-up", "goal", "met?", "load"];
const table = rows.map((r) => [
  r.benchmark,
  r.unit,
  f(r.ours),
  f(r.torch),
  `${r.speedup.toFixed(2)}x`,
  r.goalText,
  r.met === null ? "-" : r.met ? "yes" : "NO",
  r.load.split(" ")[0],
]);

function textTable(head: string[], body: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n");
}

function mdTable(head: string[], body: string[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`,
    ...body.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

const phaseNames = ["augment", "forward", "backward", "optimizer", "ema", "free"];
const stepHead = [
  "step case",
  "variant",
  ...phaseNames,
  "total ms",
  "FFI calls",
  "% of peak",
  "RSS MiB",
];
const stepBody: string[][] = [];
for (
  const d of stepDetails as {
    case: string;
    ours: Record<string, Variant>;
    torch: Record<string, Variant>;
    ffiCallsPerStep: Record<string, { calls: number }>;
    flopShareOfPeak: Record<string, number>;
    peakRssMiB: { ours: number; torch: number; torchWorkerMax: number };
  }[]
) {
  for (const v of ["e2e", "model"]) {
    const ov = d.ours[v], tv = d.torch[v];
    const share = d.flopShareOfPeak;
    stepBody.push([
      d.case,
      `ours ${v}`,
      ...phaseNames.map((ph) => f(ov.phases[ph])),
      f(ov.ms),
      String(d.ffiCallsPerStep[v].calls),
      `${(100 * share[v === "e2e" ? "oursE2e" : "oursModel"]).toFixed(0)}%`,
      f(d.peakRssMiB.ours),
    ]);
    stepBody.push([
      "",
      `torch ${v}`,
      ...phaseNames.map((ph) => (tv.phases[ph] === undefined ? "-" : f(tv.phases[ph]))),
      f(tv.ms),
      "-",
      `${(100 * share[v === "e2e" ? "torchE2e" : "torchModel"]).toFixed(0)}%`,
      v === "e2e"
        ? `${f(d.peakRssMiB.torch)} (worker ${f(d.peakRssMiB.torchWorkerMax)})`
        : f(d.peakRssMiB.torch),
    ]);
  }
}

const loadAtEnd = loadavg();
const intro = [
  `machine: ${machine.cpu}, ${machine.cores} cores, native bf16: ${
    machine.bf16Flags.join(" ") || "none"
  }; ${threads} threads on both sides ` +
  `(setNumThreads / torch.set_num_threads, OMP_NUM_THREADS=${threads}, ` +
  `OMP_WAIT_POLICY=${ompWait})`,
  `libtorch ${machine.libtorch} (shim); PyTorch twin: ${PYTHON}`,
  `date: ${machine.date}; load average at start ${machine.loadAtStart}, at end ${loadAtEnd}` +
  (quick ? "; --quick" : ""),
  `times: median of repetitions after warm-up; speed-up = how many times faster ours is`,
];
console.log(intro.join("\n") + "\n");
console.log(textTable(header, table));
for (const r of rows.filter((r) => r.note)) console.log(`  ${r.benchmark}: ${r.note}`);
if (stepBody.length) {
  console.log(
    "\nstep time split (ms, medians), FFI calls per step, model FLOP/s as % of the matmul peak, peak RSS",
  );
  console.log(textTable(stepHead, stepBody));
}

const stamp = machine.date.replace(/[:]/g, "").replace(/\..*/, "");
const dir = join(ROOT, "bench/results");
await Deno.mkdir(dir, { recursive: true });
const json = JSON.stringify({ machine: { ...machine, loadAtEnd }, rows, details }, null, 2) + "\n";
await Deno.writeTextFile(join(dir, `${stamp}.json`), json);
await Deno.writeTextFile(join(dir, "latest.json"), json);
const md = [
  intro.map((l) => `${l}  `).join("\n"),
  "",
  mdTable(header, table),
  "",
  ...rows.filter((r) => r.note).map((r) => `- ${r.benchmark}: ${r.note}`),
  ...(stepBody.length
    ? [
      "",
      "Step time split (ms, medians), FFI calls per step, model FLOP/s as % of the matmul peak, peak RSS:",
      "",
      mdTable(stepHead, stepBody),
    ]
    : []),
  "",
].join("\n");
await Deno.writeTextFile(join(dir, "latest.md"), md);
// Written files pass `deno fmt --check` like the rest of the repository.
await new Deno.Command(Deno.execPath(), {
  args: [
    "fmt",
    "--quiet",
    ...[`${stamp}.json`, "latest.json", "latest.md"].map((n) => join(dir, n)),
  ],
}).output();
log(`wrote bench/results/${stamp}.json, latest.json, latest.md`);
