// The run builder: from resolved settings and loaded data to every part a
// training step needs (loader, model, optimizer, augmentation, generator,
// schedules), plus the two directions of the checkpoint: capture and restore.
// Process-wide settings (threads, seed, cuDNN, TF32) are applied by
// configureRuntime, explicitly, never as a side effect of building.
import { Generator } from "../../ffi/generator.ts";
import {
  cuda,
  getRngState,
  manualSeed,
  setCudnnAllowTf32,
  setFloat32MatmulPrecision,
  setNumThreads,
  setRngState,
  useDeterministicAlgorithms,
} from "../../ffi/runtime.ts";
import { makeAugment } from "../augment/two_views.ts";
import type { Augment } from "../augment/two_views.ts";
import { presets as augmentPresets } from "../augment/presets.ts";
import type { PresetName } from "../augment/presets.ts";
import { ImageLoader } from "../data/loader.ts";
import { DistributedDataParallel, type Replicable } from "../distributed/ddp.ts";
import { AdamW, decayParamGroups, LARS, SGD, warmupCosine } from "../optim/mod.ts";
import type { Optimizer, ParamGroup } from "../optim/optimizer.ts";
import type { ExcludedGroupOptions } from "../optim/param_groups.ts";
import type { TrainingState } from "./checkpoint.ts";
import { chooseDataDefaults } from "./data_defaults.ts";
import { type DataSource, loadDataSource, probeData } from "./data_source.ts";
import { buildEncoder } from "./encoders.ts";
import { buildMethod } from "./methods.ts";
import { OnlineProbe, PROBE_LR } from "./online_probe.ts";
import type { Method } from "../method/method.ts";
import { ConfigError, type TrainConfig } from "./settings.ts";
import type { Precision } from "./precision.ts";
import { collective, SOLO, type World } from "../distributed/world.ts";
import { chooseCudaGraphs, type GraphsChoice } from "./cuda_graphs.ts";
import { cudaGraphsAvailable } from "../../ffi/cuda_graph.ts";

export type RunOptimizer = Optimizer<{ lr: number; weightDecay: number }>;

export interface Schedule {
  stepsPerEpoch: number;
  /** Steps over all configured epochs: the lr and tau schedules span these. */
  allSteps: number;
  /** Steps this run does (allSteps, or fewer with --max-steps). */
  totalSteps: number;
  lrAt(step: number): number;
}

/** Everything a training step reads or updates. */
export interface Run {
  cfg: TrainConfig;
  device: string;
  data: DataSource;
  loader: ImageLoader;
  /** The self-supervised method (--method) over the encoder: its networks, loss and step hook. */
  method: Method;
  /** The online linear probe (--online-probe on labelled data), or null. */
  probe: OnlineProbe | null;
  optimizer: RunOptimizer;
  augment: Augment;
  /** Draws every augmentation parameter. */
  generator: Generator;
  schedule: Schedule;
  /** The step's precision: "32", or bf16 autocast on the run's device ("bf16-mixed"). */
  precision: Precision;
  /** The processes training together (SOLO: this one alone); see world.ts. */
  world: World;
  /**
   * Several ranks: rank 0's parameters and buffers (a BYOL target included)
   * broadcast at construction, gradients averaged after each backward (null alone).
   */
  ddp: DistributedDataParallel<Replicable> | null;
  /** Whether the step is captured in a CUDA graph (--cuda-graphs), and why; see graph_step.ts. */
  graphs: GraphsChoice;
}

export function resolveDevice(device: string): string {
  if (device === "auto") return cuda.isAvailable() ? "cuda" : "cpu";
  if (device.startsWith("cuda")) {
    const n = cuda.isAvailable() ? cuda.deviceCount() : 0;
    const idx = device === "cuda" ? 0 : Number(device.slice(5));
    if (idx >= n) {
      throw new Error(
        n === 0
          ? `--device ${device}: CUDA is not available here (the shim was built against a ` +
            "CPU libtorch, or no GPU is visible); use --device cpu, or rebuild with " +
            "LIBTORCH_USE_PYTORCH=1 deno task build on a CUDA machine"
          : `--device ${device}: only ${n} CUDA device(s) (cuda:0..cuda:${n - 1})`,
      );
    }
  }
  return device;
}

/**
 * --tf32 as PyTorch's two switches: cuDNN's allow_tf32 (convolutions) and the
 * float32 matmul precision ("highest": no TF32; "high": TF32), set for CUDA
 * runs (a CPU run leaves libtorch's CPU matmul settings as they are).
 */
export function applyTf32(mode: TrainConfig["tf32"]): void {
  setCudnnAllowTf32(mode !== "off");
  setFloat32MatmulPrecision(mode === "all" ? "high" : "highest");
}

/**
 * Threads, the global seed, determinism and cuDNN's autotuner: process-wide
 * state a run sets once (benchmark on for CUDA unless --deterministic).
 */
export function configureRuntime(cfg: TrainConfig, device: string): void {
  setNumThreads(cfg.threads > 0 ? cfg.threads : Math.max(1, navigator.hardwareConcurrency || 1));
  useDeterministicAlgorithms(cfg.deterministic);
  if (device.startsWith("cuda")) {
    cuda.setCudnnBenchmark(!cfg.deterministic);
    applyTf32(cfg.tf32);
  }
  manualSeed(cfg.seed);
}

/**
 * Loads `--data` with the settings that follow it chosen (channels, augment,
 * view size: see data_defaults.ts). Returns the completed settings, the data
 * and one note per choice made.
 */
export async function prepareData(
  cfg: TrainConfig,
): Promise<{ cfg: TrainConfig; data: DataSource; notes: string[] }> {
  const probe = await probeData(cfg.data);
  const chosen = chooseDataDefaults(cfg, probe);
  const data = await loadDataSource(chosen.cfg);
  return { cfg: chosen.cfg, data, notes: [...chosen.notes, ...(data.notes ?? [])] };
}

/**
 * The optimizer a config names, over the method's parameters (biases and
 * norms excluded from decay) and the online probe's (a third group: no decay,
 * no LARS adaptation, its own lr scale, PROBE_LR at the schedule's peak).
 */
export function buildOptimizer(
  cfg: TrainConfig,
  method: Method,
  probe: OnlineProbe | null = null,
  opts: { capturable?: boolean } = {},
): RunOptimizer {
  // Capturable (a step captured in a CUDA graph): the lr and AdamW's step
  // counts live in device tensors, so the step reads nothing from the host.
  const capturable = opts.capturable ?? false;
  // Biases and normalisation parameters: no weight decay and no LARS
  // adaptation, as in the BYOL paper.
  const groups: ParamGroup<ExcludedGroupOptions>[] = decayParamGroups(method.namedParameters());
  if (probe !== null) {
    const named = probe.namedParameters();
    groups.push({
      params: named.map(([, t]) => t),
      names: named.map(([k]) => k),
      weightDecay: 0,
      lars: false,
      lrScale: PROBE_LR[cfg.optimizer] / cfg.lr,
    });
  }
  switch (cfg.optimizer) {
    case "lars":
      return new LARS(groups, {
        lr: cfg.lr,
        weightDecay: cfg.weightDecay,
        momentum: 0.9,
        capturable,
      });
    case "sgd":
      return new SGD(groups, {
        lr: cfg.lr,
        weightDecay: cfg.weightDecay,
        momentum: 0.9,
        capturable,
      });
    case "adamw":
      return new AdamW(groups, { lr: cfg.lr, weightDecay: cfg.weightDecay, capturable });
  }
}

/**
 * The step schedule of a config whose loader has `batchesPerEpoch` batches an
 * epoch: an optimizer step takes --accumulate-grad-batches of them (the
 * epoch's last few, short of a step, are skipped).
 */
export function buildSchedule(cfg: TrainConfig, batchesPerEpoch: number): Schedule {
  const stepsPerEpoch = Math.floor(batchesPerEpoch / cfg.accumulateGradBatches);
  if (stepsPerEpoch < 1) {
    throw new ConfigError(
      `--accumulate-grad-batches ${cfg.accumulateGradBatches} needs that many batches of ` +
        `${cfg.batchSize} images an epoch, the data has ${batchesPerEpoch}; lower ` +
        "--accumulate-grad-batches or --batch-size",
    );
  }
  const allSteps = stepsPerEpoch * cfg.epochs;
  return {
    stepsPerEpoch,
    allSteps,
    totalSteps: cfg.maxSteps > 0 ? Math.min(cfg.maxSteps, allSteps) : allSteps,
    // The schedules span the configured epochs, so --max-steps cuts a run
    // short without changing its first steps (and resume stays exact).
    lrAt: warmupCosine({
      baseLr: cfg.lr,
      warmupSteps: Math.round(cfg.warmupEpochs * stepsPerEpoch),
      totalSteps: allSteps,
    }),
  };
}

/** Builds every part of a run from completed settings (see prepareData) and its data. */
export function buildRun(
  cfg: TrainConfig,
  data: DataSource,
  device: string,
  opts: { loader?: ImageLoader; world?: World } = {},
): Run {
  const world = opts.world ?? SOLO;
  // Every rank shuffles the same global order and takes its share of each
  // batch (world.ts, the loader's shard).
  const loader = opts.loader ??
    new ImageLoader(data.train, {
      batchSize: cfg.batchSize,
      seed: cfg.seed,
      device,
      shard: { rank: world.rank, worldSize: world.worldSize },
    });
  const encoder = buildEncoder(cfg, data.train.channels);
  if (device !== "cpu") encoder.to(device);
  // Weights (here) and views (in the step) channels-last, the layout oneDNN
  // and cuDNN convolutions run fastest in.
  if (cfg.channelsLast) encoder.channelsLast();
  const method = buildMethod(cfg, encoder, {
    device,
    // Several ranks: batch statistics over the global batch (every BatchNorm of
    // the encoder and the heads, and so BYOL's target forward, which runs the
    // same modules), as one process computes them.
    syncBatchNorm: world.worldSize > 1,
  });
  const probe = cfg.onlineProbe !== "off" && data.train.labels !== null
    ? new OnlineProbe(
      method.encoder.outDim,
      Math.max(
        data.train.classes?.length ?? 0,
        data.train.labels.reduce((m, l) => Math.max(m, l), -1) + 1,
      ),
      device,
      { syncBatchNorm: world.worldSize > 1 },
    )
    : null;
  // DistributedDataParallel starts every rank from rank 0's weights.
  let ddp: DistributedDataParallel<Replicable> | null = null;
  if (world.worldSize > 1) {
    const trained: Replicable = {
      namedParameters: () => [...method.namedParameters(), ...(probe?.namedParameters() ?? [])],
      namedBuffers: () => [...method.namedBuffers(), ...(probe?.namedBuffers() ?? [])],
    };
    ddp = collective(world, "the initial broadcast", () => new DistributedDataParallel(trained));
  }
  const graphs = chooseCudaGraphs(
    cfg,
    device,
    world.worldSize,
    cudaGraphsAvailable(),
    loader.placement === "host",
  );
  const base = augmentPresets[cfg.augment as PresetName];
  // A preset's fixed blur kernel fits its own size; other sizes get 10% of the side.
  const augment = makeAugment(cfg.augment as PresetName, {
    size: cfg.imageSize,
    ...(cfg.imageSize !== base.view1.size ? { blurKernel: 0 } : {}),
    ...(cfg.cropScale > 0 ? { scale: [cfg.cropScale, 1] as [number, number] } : {}),
  });
  return {
    cfg,
    device,
    data,
    loader,
    method,
    probe,
    optimizer: buildOptimizer(cfg, method, probe, { capturable: graphs.on }),
    augment,
    generator: new Generator(cfg.seed + 1, { device }),
    schedule: buildSchedule(cfg, loader.stepsPerEpoch),
    // "auto" is resolved before training (resolvePrecision); until then 32.
    precision: cfg.precision === "bf16-mixed" ? "bf16-mixed" : "32",
    world,
    ddp,
    graphs,
  };
}

/** The state of `run` after `step` steps, as the checkpoint codec stores it. Free the RNG tensors after. */
export function captureState(run: Run, step: number): TrainingState {
  const epoch = Math.floor(step / run.schedule.stepsPerEpoch);
  const optimizer = run.optimizer.stateDict();
  return {
    step,
    epoch,
    stepInEpoch: step - epoch * run.schedule.stepsPerEpoch,
    model: run.method.stateDict(),
    probe: run.probe?.stateDict() ?? {},
    optimizer,
    cpuRng: getRngState("cpu"),
    augmentRng: run.generator.getState(),
  };
}

/** Puts `state` into `run` (copies; the caller frees the state's tensors). Returns the step. */
export function restoreState(run: Run, state: TrainingState): number {
  run.method.loadStateDict(state.model);
  run.probe?.loadStateDict(state.probe);
  run.optimizer.loadStateDict(
    state.optimizer as Parameters<RunOptimizer["loadStateDict"]>[0],
  );
  setRngState(state.cpuRng, "cpu");
  run.generator.setState(state.augmentRng);
  return state.step;
}

export function disposeRun(run: Run): void {
  run.ddp?.dispose();
  run.method.dispose();
  run.probe?.dispose();
  run.optimizer.dispose();
  run.loader.dispose();
  run.generator.dispose();
}
