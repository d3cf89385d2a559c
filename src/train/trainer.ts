// The BYOL training loop behind `deno task train`: data, views, loss,
// optimizer, EMA update, metrics, checkpoints, exact resume, kNN monitor.
// Each step runs in one tidy scope; the only host reads are the loss every
// `logEvery` steps and the checkpoint writes.
import { join, resolve } from "node:path";
import type { Tensor } from "../../ffi/tensor.ts";
import { Generator } from "../../ffi/generator.ts";
import { tidy } from "../../ffi/memory.ts";
import {
  autocast,
  cuda,
  getNumThreads,
  getRngState,
  manualSeed,
  setNumThreads,
  setRngState,
} from "../../ffi/runtime.ts";
import { makeAugment } from "../augment/two_views.ts";
import type { Augment } from "../augment/two_views.ts";
import { presets as augmentPresets } from "../augment/presets.ts";
import type { PresetName } from "../augment/presets.ts";
import { ImageLoader } from "../data/loader.ts";
import { BYOL } from "../byol/model.ts";
import { saveStateDict } from "../io/tensors.ts";
import { AdamW, decayParamGroups, LARS, SGD, warmupCosine } from "../optim/mod.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import type { TrainConfig } from "./config.ts";
import { type DataSource, loadDataSource } from "./data_source.ts";
import { buildEncoder } from "./encoders.ts";
import { type Checkpoint, saveCheckpoint } from "./checkpoint.ts";
import { knnTop1, type LabelledImages, uploadLabelled } from "./monitor.ts";
import type { MetricsRecord } from "../report/plots.ts";

/** One metrics.jsonl line: the record the plots read back. */
export type StepMetrics = MetricsRecord;

export interface TrainEvents {
  /** Called after each logged step. */
  onLog?(m: StepMetrics, totalSteps: number): void;
  onEpochEnd?(epoch: number, knnTop1: number | null): void;
  onMessage?(line: string): void;
  onCheckpoint?(dir: string): void;
}

export interface TrainResult {
  runDir: string;
  steps: number;
  interrupted: boolean;
  lastLoss: number;
  encoderPath: string;
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

/** The optimizer a config names, over BYOL's online parameters (biases and norms excluded from decay). */
export function buildOptimizer(
  cfg: TrainConfig,
  model: BYOL,
): Optimizer<{ lr: number; weightDecay: number }> {
  // Biases and normalisation parameters: no weight decay and no LARS
  // adaptation, as in the paper.
  const groups = decayParamGroups(model.namedOnlineParameters());
  switch (cfg.optimizer) {
    case "lars":
      return new LARS(groups, { lr: cfg.lr, weightDecay: cfg.weightDecay, momentum: 0.9 });
    case "sgd":
      return new SGD(groups, { lr: cfg.lr, weightDecay: cfg.weightDecay, momentum: 0.9 });
    case "adamw":
      return new AdamW(groups, { lr: cfg.lr, weightDecay: cfg.weightDecay });
  }
}

/** A BYOL run: build everything from a config, then `run()`. */
export class Trainer {
  readonly cfg: TrainConfig;
  readonly runDir: string;
  readonly device: string;
  readonly data: DataSource;
  readonly loader: ImageLoader;
  readonly model: BYOL;
  readonly optimizer: Optimizer<{ lr: number; weightDecay: number }>;
  readonly augment: Augment;
  readonly generator: Generator;
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  readonly lrAt: (step: number) => number;
  step = 0;
  #stop = false;

  private constructor(cfg: TrainConfig, runDir: string, data: DataSource) {
    this.cfg = cfg;
    this.runDir = runDir;
    this.data = data;
    this.device = resolveDevice(cfg.device);
    setNumThreads(cfg.threads > 0 ? cfg.threads : Math.max(1, navigator.hardwareConcurrency || 1));
    if (this.device.startsWith("cuda")) cuda.setCudnnBenchmark(true);
    manualSeed(cfg.seed);
    this.loader = new ImageLoader(data.train, {
      batchSize: cfg.batchSize,
      seed: cfg.seed,
      device: this.device,
    });
    const encoder = buildEncoder(cfg, data.train.channels);
    if (this.device !== "cpu") encoder.to(this.device);
    // Weights (here) and views (in the loop) channels-last, the layout oneDNN
    // and cuDNN convolutions run fastest in; set before the optimizer and the
    // EMA target take their handles.
    if (cfg.channelsLast) encoder.channelsLast();
    this.model = new BYOL(encoder, {
      projectionDim: cfg.projectionDim,
      hiddenDim: cfg.hiddenDim,
      tauBase: cfg.tauBase,
      device: this.device,
    });
    this.optimizer = buildOptimizer(cfg, this.model);
    const base = augmentPresets[cfg.augment as PresetName];
    // A preset's fixed blur kernel fits its own size; other sizes get 10% of the side.
    this.augment = makeAugment(cfg.augment as PresetName, {
      size: cfg.imageSize,
      ...(cfg.imageSize !== base.view1.size ? { blurKernel: 0 } : {}),
    });
    if (base.view1.mean.length !== data.train.channels) {
      throw new Error(
        `--augment ${cfg.augment} is for ${base.view1.mean.length}-channel images, but ` +
          `${data.description} has ${data.train.channels}; pick a matching --augment ` +
          "(fashion-mnist for 1 channel; cifar or paper for 3)",
      );
    }
    this.generator = new Generator(cfg.seed + 1, { device: this.device });
    this.stepsPerEpoch = this.loader.stepsPerEpoch;
    const allSteps = this.stepsPerEpoch * cfg.epochs;
    this.totalSteps = cfg.maxSteps > 0 ? Math.min(cfg.maxSteps, allSteps) : allSteps;
    this.lrAt = warmupCosine({
      baseLr: cfg.lr,
      warmupSteps: Math.round(cfg.warmupEpochs * this.stepsPerEpoch),
      // The schedules span the configured epochs, so --max-steps cuts a run
      // short without changing its first steps (and resume stays exact).
      totalSteps: allSteps,
    });
    this.#allSteps = allSteps;
    this.#cuda = this.device.startsWith("cuda");
    this.#amp = cfg.amp && this.#cuda;
  }

  readonly #allSteps: number;
  readonly #cuda: boolean = false;
  /** bf16 autocast: only where asked for and on CUDA (on the CPU it would only slow down). */
  readonly #amp: boolean = false;

  /** Loads the data and builds the run (fresh, or from `resumeFrom`). */
  static async create(cfg: TrainConfig, opts: { resumeFrom?: Checkpoint } = {}): Promise<Trainer> {
    const runDir = resolve(cfg.out || join("runs", `${stamp()}-${cfg.preset}`));
    const data = await loadDataSource(cfg);
    const t = new Trainer(cfg, runDir, data);
    await Deno.mkdir(runDir, { recursive: true });
    if (opts.resumeFrom) t.#restore(opts.resumeFrom);
    else {
      await Deno.writeTextFile(join(runDir, "config.json"), JSON.stringify(cfg, null, 2) + "\n");
      await Deno.writeTextFile(join(runDir, "metrics.jsonl"), "");
    }
    return t;
  }

  #testSet: LabelledImages | null = null;

  /** The online kNN monitor: k=200, cosine, T=0.1, train split as the bank. */
  knn(): number {
    if (this.data.test === null || this.loader.labels === null) {
      throw new Error(`${this.data.description} has no labelled test split for the kNN monitor`);
    }
    this.#testSet ??= uploadLabelled(this.data.test, this.device);
    const bank = { images: this.loader.images, labels: this.loader.labels };
    try {
      return knnTop1(
        this.model.encoder,
        bank,
        this.#testSet,
        this.augment.config.view1,
        200,
        this.cfg.batchSize,
      );
    } finally {
      this.model.train();
    }
  }

  /** Asks the loop to stop after the current step (and write a checkpoint). */
  requestStop(): void {
    this.#stop = true;
  }

  /** Writes a checkpoint of everything a resume needs; returns its folder. */
  async checkpoint(): Promise<string> {
    const epoch = Math.floor(this.step / this.stepsPerEpoch);
    using cpuRng = getRngState("cpu");
    using augRng = this.generator.getState();
    const optim = this.optimizer.stateDict();
    const tensors: Record<string, Tensor> = { "rng.cpu": cpuRng, "rng.augment": augRng };
    for (const [k, t] of Object.entries(this.model.stateDict())) tensors[`online.${k}`] = t;
    for (const [k, t] of Object.entries(this.model.targetStateDict())) tensors[`target.${k}`] = t;
    for (const [k, t] of Object.entries(optim.tensors)) tensors[`optim.${k}`] = t;
    return await saveCheckpoint(this.runDir, tensors, {
      step: this.step,
      epoch,
      stepInEpoch: this.step - epoch * this.stepsPerEpoch,
      optimizer: optim.meta,
    });
  }

  #restore(ck: Checkpoint): void {
    const t = ck.tensors;
    const online = withPrefix(t, "online.");
    this.model.encoder.loadStateDict(withPrefix(online, "encoder."));
    this.model.projector.loadStateDict(withPrefix(online, "projector."));
    this.model.predictor.loadStateDict(withPrefix(online, "predictor."));
    this.model.loadTargetStateDict(withPrefix(t, "target."));
    this.optimizer.loadStateDict({
      tensors: withPrefix(t, "optim."),
      meta: ck.meta.optimizer as ReturnType<
        Optimizer<{ lr: number; weightDecay: number }>["stateDict"]
      >["meta"],
    });
    setRngState(t["rng.cpu"], "cpu");
    this.generator.setState(t["rng.augment"]);
    for (const v of Object.values(t)) v.dispose();
    this.step = ck.meta.step;
  }

  /** Trains until the configured steps are done or a stop is requested. */
  async run(events: TrainEvents = {}): Promise<TrainResult> {
    const cfg = this.cfg;
    const say = events.onMessage ?? (() => {});
    const metricsPath = join(this.runDir, "metrics.jsonl");
    const metrics = await Deno.open(metricsPath, { append: true, create: true });
    say(
      `training BYOL (${cfg.encoder}) on ${this.data.description}: ${this.data.train.length} ` +
        `images, ${this.stepsPerEpoch} steps/epoch, ${this.totalSteps} steps, ` +
        `device ${this.device}, ${getNumThreads()} threads`,
    );
    if (cfg.amp && !this.#amp) {
      say("note: --amp (bf16 autocast) applies on CUDA only; ignored on the CPU");
    }
    this.model.train();
    let lastLoss = NaN;
    let windowStart = performance.now();
    let windowImages = 0;
    try {
      while (this.step < this.totalSteps && !this.#stop) {
        const epoch = Math.floor(this.step / this.stepsPerEpoch);
        const inEpoch = this.step - epoch * this.stepsPerEpoch;
        const lr = this.lrAt(this.step);
        this.optimizer.setLr(lr);
        const log = (this.step + 1) % cfg.logEvery === 0 || this.step + 1 === this.totalSteps;
        const { loss, tau } = tidy(() => {
          const batch = this.loader.batch(epoch, inEpoch);
          let [v1, v2] = this.augment.twoViews(batch.images, this.generator);
          if (cfg.channelsLast) {
            v1 = v1.contiguous("channelsLast");
            v2 = v2.contiguous("channelsLast");
          }
          const l = this.#amp
            ? autocast(() => this.model.loss(v1, v2), { dtype: "bfloat16" })
            : this.model.loss(v1, v2);
          this.optimizer.zeroGrad();
          l.backward();
          this.optimizer.step();
          const tau = this.model.updateTarget(this.step, this.#allSteps);
          return { loss: log ? l.item() : NaN, tau };
        });
        this.step++;
        windowImages += cfg.batchSize;
        if (log) {
          if (!Number.isFinite(loss)) {
            throw new Error(
              `the loss became ${loss} at step ${this.step}; lower --lr (now ${cfg.lr}) or raise --warmup-epochs`,
            );
          }
          lastLoss = loss;
          const now = performance.now();
          const m: StepMetrics = {
            step: this.step,
            epoch: this.step / this.stepsPerEpoch,
            loss,
            tau,
            lr,
            imagesPerSec: windowImages / ((now - windowStart) / 1000),
          };
          windowStart = now;
          windowImages = 0;
          await metrics.write(new TextEncoder().encode(JSON.stringify(m) + "\n"));
          events.onLog?.(m, this.totalSteps);
        }
        const epochDone = this.step % this.stepsPerEpoch === 0;
        if (epochDone) {
          const e = this.step / this.stepsPerEpoch;
          let top1: number | null = null;
          if (cfg.knnEvery > 0 && e % cfg.knnEvery === 0 && this.data.test !== null) {
            top1 = this.knn();
            const line = { step: this.step, epoch: e, knnTop1: top1 };
            await metrics.write(new TextEncoder().encode(JSON.stringify(line) + "\n"));
            windowStart = performance.now();
            windowImages = 0;
          }
          events.onEpochEnd?.(e, top1);
        }
        const periodic = cfg.checkpointEvery > 0 && this.step % cfg.checkpointEvery === 0;
        if ((periodic || epochDone) && this.step < this.totalSteps) {
          const dir = await this.checkpoint();
          events.onCheckpoint?.(dir);
        }
        // Let signal handlers (SIGINT) run between steps.
        await new Promise((r) => setTimeout(r, 0));
      }
      const dir = await this.checkpoint();
      events.onCheckpoint?.(dir);
    } finally {
      metrics.close();
    }
    const encoderPath = join(this.runDir, "encoder.safetensors");
    await saveStateDict(encoderPath, this.model.encoder, {
      format: "pt",
      encoder: cfg.encoder,
      stem: cfg.stem,
      inChannels: String(this.data.train.channels),
    });
    return {
      runDir: this.runDir,
      steps: this.step,
      interrupted: this.#stop && this.step < this.totalSteps,
      lastLoss,
      encoderPath,
    };
  }

  dispose(): void {
    this.model.dispose();
    this.optimizer.dispose();
    this.loader.dispose();
    this.generator.dispose();
    this.#testSet?.images.dispose();
    this.#testSet?.labels.dispose();
  }
}

/** The entries of `dict` whose keys start with `prefix`, with the prefix removed. */
function withPrefix(dict: Record<string, Tensor>, prefix: string): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(dict)) {
    if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  }
  return out;
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
}
