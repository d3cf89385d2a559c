// Our side of the GPU goal table (scripts/gpu_check.sh; bench/py/gpu_goals.py
// is PyTorch's): for the default recipe (convnet width 48, batch 64, heads
// 2048-256, AdamW) and ResNet-18 with the CIFAR stem (batch 512, heads
// 4096-256, LARS), both in bf16 autocast and channels-last, the time of one
// step
//   - model only (pre-made views: forward, backward, optimizer, EMA), eager
//     and captured in a CUDA graph;
//   - end to end through the trainer's step object (graph_step.ts: the batch
//     gathered from a uint8 set on the GPU, the two views, the step), eager
//     and captured;
// with the shim calls per step. Prints one JSON line, and the recipes the
// PyTorch twin builds.
//   deno run -A bench/gpu_goals.ts [steps] [--cpu]
// --cpu (no GPU): the eager rows on the CPU in float32, a check of the script.
import { cuda, ffiCalls, tidy } from "../mod.ts";
import { capture as captureGraph, CUDAGraph, cudaGraphsAvailable } from "../ffi/cuda_graph.ts";
import { fillScalars, TensorList } from "../ffi/lists.ts";
import { randn, zeros } from "../ffi/creation.ts";
import { resolveConfig } from "../src/train/config.ts";
import { createStepRunner, WARMUP_STEPS } from "../src/train/graph_step.ts";
import { inPrecision } from "../src/train/precision.ts";
import { buildRun, configureRuntime, disposeRun, type Run } from "../src/train/run.ts";
import type { DataSource } from "../src/train/data_source.ts";
import type { TrainConfig } from "../src/train/settings.ts";
import { syntheticImages } from "./lib.ts";

const args = Deno.args.filter((a) => a !== "--cpu");
const steps = Number(args[0] ?? 50);
const device = cuda.isAvailable() ? "cuda" : Deno.args.includes("--cpu") ? "cpu" : null;
if (device === null) {
  console.log(
    JSON.stringify({ error: "CUDA is not available to the shim (--cpu: a check on the CPU)" }),
  );
  Deno.exit(1);
}
const graphs = device === "cuda" && cudaGraphsAvailable();
const sync = () => device === "cuda" && cuda.synchronize();

interface Recipe {
  name: string;
  preset: string;
  /** The augmentation (the default preset takes it from its data: here, synthetic images). */
  augment: string;
  batchSize: number;
  shape: readonly [number, number, number];
}

const FULL: Recipe[] = [
  {
    name: "default",
    preset: "fashion-mnist",
    augment: "fashion-mnist",
    batchSize: 64,
    shape: [1, 28, 28],
  },
  {
    name: "resnet18",
    preset: "cifar10-resnet18",
    augment: "cifar",
    batchSize: 512,
    shape: [3, 32, 32],
  },
];
/** The goal table's recipes (on --cpu, at batch 8: a check, not a measurement). */
const RECIPES = FULL.map((r) => ({ ...r, batchSize: device === "cuda" ? r.batchSize : 8 }));

interface Timing {
  msPerStep: number;
  callsPerStep: number;
}

function config(r: Recipe, cudaGraphs: "on" | "off"): TrainConfig {
  return resolveConfig(undefined, {
    preset: r.preset,
    augment: r.augment,
    batchSize: r.batchSize,
    device,
    precision: device === "cuda" ? "bf16-mixed" : "32",
    cudaGraphs,
    onlineProbe: "off",
    knnEvery: 0,
    evaluate: false,
  });
}

function syntheticRun(cfg: TrainConfig, shape: readonly number[]): Run {
  const [c, h, w] = shape;
  const data: DataSource = {
    description: `synthetic uint8 ${c}x${h}x${w}`,
    train: { ...syntheticImages(8192, c, h, w), labels: null, classes: null },
    test: null,
    testSplit: "test",
  };
  configureRuntime(cfg, device!);
  return buildRun({ ...cfg, channels: c, imageSize: h }, data, device!);
}

/** Times `n` calls of `fn(k)` after `warm` untimed ones; the device synchronised around them. */
function timed(fn: (k: number) => void, warm: number, n: number): Timing {
  let k = 0;
  for (; k < warm; k++) fn(k);
  sync();
  const c0 = ffiCalls();
  const t0 = performance.now();
  for (let i = 0; i < n; i++, k++) fn(k);
  sync();
  return { msPerStep: (performance.now() - t0) / n, callsPerStep: (ffiCalls() - c0) / n };
}

function modelOnly(
  recipe: Recipe,
  captured: boolean,
): Timing {
  const cfg = config(recipe, captured ? "on" : "off");
  const run = syntheticRun(cfg, recipe.shape);
  const [c, h, w] = recipe.shape;
  const v1 = randn([recipe.batchSize, c, h, w], { device: device! }).contiguous("channelsLast")
    .keep();
  const v2 = randn([recipe.batchSize, c, h, w], { device: device! }).contiguous("channelsLast")
    .keep();
  const all = run.schedule.allSteps;
  const eager = (k: number) =>
    tidy(() => {
      run.optimizer.setLr(run.schedule.lrAt(k));
      run.optimizer.zeroGrad();
      const out = inPrecision(run.precision, run.device, () => run.method.forward(v1, v2));
      out.loss.backward();
      run.optimizer.step();
      run.method.afterStep(k, all);
    });
  try {
    if (!captured) return timed(eager, 5, steps);
    // Captured: the same body, with the lr and the method's values in device scalars.
    for (let k = 0; k < WARMUP_STEPS; k++) eager(k);
    const names = Object.keys(run.method.stepValues(0, all));
    const values = Object.fromEntries(
      names.map((n) => [n, zeros([], { dtype: "float64", device: device! }).keep()]),
    );
    const scalars = names.length > 0
      ? new TensorList(names.map((n) => values[n]), { label: "the method's values" })
      : null;
    run.optimizer.zeroGrad();
    const graph = new CUDAGraph();
    try {
      captureGraph(graph, device!, () => {
        tidy(() => {
          const out = inPrecision(run.precision, run.device, () => run.method.forward(v1, v2));
          out.loss.backward();
          run.optimizer.step();
          run.method.afterStepFrom(values);
        });
      });
      return timed(
        (k) => {
          run.optimizer.setLr(run.schedule.lrAt(k));
          const vs = run.method.stepValues(k, all);
          if (scalars !== null) fillScalars(scalars, Float64Array.from(names.map((n) => vs[n])));
          graph.replay();
        },
        3,
        steps,
      );
    } finally {
      graph.dispose();
      for (const t of Object.values(values)) t.dispose();
    }
  } finally {
    v1.dispose();
    v2.dispose();
    disposeRun(run);
  }
}

/** The trainer's step object over a uint8 set on the GPU, the loss read every 50 steps. */
function endToEnd(recipe: Recipe, captured: boolean): Timing {
  const cfg = config(recipe, captured ? "on" : "off");
  const run = syntheticRun(cfg, recipe.shape);
  const stepper = createStepRunner(run);
  try {
    return timed((k) => stepper.run(k, k % 50 === 49), WARMUP_STEPS + 5, steps);
  } finally {
    stepper[Symbol.dispose]();
    disposeRun(run);
  }
}

const results: Record<string, unknown> = {};
for (const r of RECIPES) {
  const row: Record<string, Timing | string> = {};
  for (
    const [key, fn] of [
      ["modelEager", () => modelOnly(r, false)],
      [
        "e2eEager",
        () => endToEnd(r, false),
      ],
      ["modelCaptured", () => modelOnly(r, true)],
      ["e2eCaptured", () => endToEnd(r, true)],
    ] as [
      string,
      () => Timing,
    ][]
  ) {
    if (key.endsWith("Captured") && !graphs) {
      row[key] = "no CUDA graphs in this build";
      continue;
    }
    try {
      row[key] = fn();
    } catch (e) {
      row[key] = `failed: ${(e as Error).message.split("\n")[0]}`;
    }
  }
  const cfg = config(r, "off");
  results[r.name] = {
    ...row,
    recipe: {
      encoder: cfg.encoder,
      stem: cfg.stem,
      width: cfg.width,
      channels: r.shape[0],
      imageSize: r.shape[1],
      batch: r.batchSize,
      optimizer: cfg.optimizer,
      lr: cfg.lr,
      weightDecay: cfg.weightDecay,
      hiddenDim: cfg.hiddenDim,
      projectionDim: cfg.projectionDim,
      tauBase: cfg.tauBase,
    },
  };
}
console.log(JSON.stringify({ side: "ours", device, steps, cudaGraphs: graphs, results }));
