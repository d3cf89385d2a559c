// Training configuration: named presets, validation with messages that name
// the bad value and the fix, and the merge order preset < config file < flags.
import { PRESET_NAMES as AUGMENT_PRESETS } from "../augment/presets.ts";

export type EncoderName = "convnet" | "resnet18" | "resnet34" | "resnet50";
export type OptimizerName = "lars" | "adamw" | "sgd";

export interface TrainConfig {
  /** "fashion-mnist", or a path: an image folder, a CSV of path,label, a CIFAR directory. */
  data: string;
  preset: string;
  encoder: EncoderName;
  stem: "imagenet" | "cifar";
  /** Width of the convnet's first block. */
  width: number;
  /** Augmentation preset (see src/augment/presets.ts). */
  augment: string;
  /** Image side length the views are cropped to (and folders are resized to). */
  imageSize: number;
  /** Channels images are converted to (folders, CSV). 0: from the data. */
  channels: number;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  lr: number;
  weightDecay: number;
  warmupEpochs: number;
  tauBase: number;
  projectionDim: number;
  hiddenDim: number;
  /** "auto" | "cpu" | "cuda" | "cuda:N" */
  device: string;
  /** Intra-op threads; 0: all cores. */
  threads: number;
  seed: number;
  /** Use only the first N images (0: all). */
  limit: number;
  /** Stop after N optimizer steps (0: run all epochs). */
  maxSteps: number;
  /** Run folder; "" picks runs/<date>-<preset>. */
  out: string;
  /** Online kNN monitor every N epochs (0: off). */
  knnEvery: number;
  /** Write a checkpoint every N steps (0: only at epoch ends and on interrupt). */
  checkpointEvery: number;
  /** Read the loss back every N steps for metrics and progress. */
  logEvery: number;
  /** bf16 autocast on CUDA. */
  amp: boolean;
  /**
   * Conv weights and views stored channels-last (NHWC): oneDNN's and cuDNN's
   * fastest layout (1.2-1.4x faster steps on the CPU, see docs/BENCHMARKS.md).
   */
  channelsLast: boolean;
  /** Evaluate (kNN + linear probe, trained vs random init) at the end. */
  evaluate: boolean;
}

const BASE: TrainConfig = {
  data: "fashion-mnist",
  preset: "fashion-mnist",
  encoder: "convnet",
  stem: "cifar",
  width: 32,
  augment: "fashion-mnist",
  imageSize: 28,
  channels: 0,
  epochs: 4,
  batchSize: 256,
  optimizer: "adamw",
  lr: 1e-3,
  weightDecay: 1e-6,
  warmupEpochs: 0.5,
  tauBase: 0.99,
  projectionDim: 128,
  hiddenDim: 1024,
  device: "auto",
  threads: 0,
  seed: 0,
  limit: 0,
  maxSteps: 0,
  out: "",
  knnEvery: 1,
  checkpointEvery: 200,
  logEvery: 10,
  amp: false,
  channelsLast: true,
  evaluate: true,
};

/**
 * Named recipes. `fashion-mnist` is the default run, sized for ~15 minutes on
 * a 2-core CPU (see docs/TRAINING.md for what was tried). The others scale up.
 */
export const PRESETS: Record<string, Partial<TrainConfig>> = {
  "fashion-mnist": {},
  "fashion-mnist-resnet18": {
    preset: "fashion-mnist-resnet18",
    encoder: "resnet18",
    stem: "cifar",
    epochs: 10,
    hiddenDim: 4096,
    projectionDim: 256,
  },
  // After solo-learn's BYOL CIFAR recipe: LARS 1.0 x batch/256, wd 1e-5,
  // 10 warm-up epochs, tau 0.99, projector 4096 -> 256, 1000 epochs.
  "cifar10-resnet18": {
    preset: "cifar10-resnet18",
    encoder: "resnet18",
    stem: "cifar",
    augment: "cifar",
    imageSize: 32,
    channels: 3,
    epochs: 1000,
    batchSize: 256,
    optimizer: "lars",
    lr: 1.0,
    weightDecay: 1e-5,
    warmupEpochs: 10,
    tauBase: 0.99,
    projectionDim: 256,
    hiddenDim: 4096,
    knnEvery: 10,
  },
  // After the paper: LARS, base lr 0.2 x batch/256, wd 1.5e-6, 10 warm-up
  // epochs, tau 0.996, 300 epochs at batch 4096.
  "imagenet-resnet50": {
    preset: "imagenet-resnet50",
    encoder: "resnet50",
    stem: "imagenet",
    augment: "paper",
    imageSize: 224,
    channels: 3,
    epochs: 300,
    batchSize: 4096,
    optimizer: "lars",
    lr: 0.2 * 4096 / 256,
    weightDecay: 1.5e-6,
    warmupEpochs: 10,
    tauBase: 0.996,
    projectionDim: 256,
    hiddenDim: 4096,
    knnEvery: 0,
    amp: true,
  },
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const ENCODERS: EncoderName[] = ["convnet", "resnet18", "resnet34", "resnet50"];
const OPTIMIZERS: OptimizerName[] = ["lars", "adamw", "sgd"];

function num(key: string, v: unknown, check: (n: number) => boolean, rule: string): number {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || !check(n)) {
    throw new ConfigError(`--${kebab(key)} must be ${rule}, got ${JSON.stringify(v)}`);
  }
  return n;
}

export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

function oneOf<T extends string>(key: string, v: unknown, options: readonly T[]): T {
  if (typeof v !== "string" || !options.includes(v as T)) {
    throw new ConfigError(
      `--${kebab(key)} must be one of ${options.join(", ")}, got ${JSON.stringify(v)}`,
    );
  }
  return v as T;
}

/** Checks every field; returns a typed copy. Unknown keys are refused. */
export function validate(raw: Record<string, unknown>): TrainConfig {
  for (const k of Object.keys(raw)) {
    if (!(k in BASE)) {
      throw new ConfigError(`unknown setting "${k}"; known: ${Object.keys(BASE).join(", ")}`);
    }
  }
  const c = { ...BASE, ...raw } as Record<string, unknown>;
  const int = (k: string, min: number) =>
    num(k, c[k], (n) => Number.isInteger(n) && n >= min, `an integer >= ${min}`);
  const pos = (k: string) => num(k, c[k], (n) => n > 0, "a number > 0");
  const device = String(c.device);
  if (!/^(auto|cpu|cuda(:\d+)?)$/.test(device)) {
    throw new ConfigError(`--device must be auto, cpu, cuda or cuda:N, got "${device}"`);
  }
  const augment = String(c.augment);
  if (!(AUGMENT_PRESETS as readonly string[]).includes(augment)) {
    throw new ConfigError(
      `--augment must be one of ${AUGMENT_PRESETS.join(", ")}, got "${augment}"`,
    );
  }
  return {
    data: String(c.data),
    preset: String(c.preset),
    encoder: oneOf("encoder", c.encoder, ENCODERS),
    stem: oneOf("stem", c.stem, ["imagenet", "cifar"] as const),
    width: int("width", 1),
    augment,
    imageSize: int("imageSize", 8),
    channels: num(
      "channels",
      c.channels,
      (n) => [0, 1, 3, 4].includes(n),
      "0 (from the data), 1, 3 or 4",
    ),
    epochs: int("epochs", 1),
    batchSize: int("batchSize", 2),
    optimizer: oneOf("optimizer", c.optimizer, OPTIMIZERS),
    lr: pos("lr"),
    weightDecay: num("weightDecay", c.weightDecay, (n) => n >= 0, "a number >= 0"),
    warmupEpochs: num("warmupEpochs", c.warmupEpochs, (n) => n >= 0, "a number >= 0"),
    tauBase: num("tauBase", c.tauBase, (n) => n >= 0 && n <= 1, "in [0, 1]"),
    projectionDim: int("projectionDim", 1),
    hiddenDim: int("hiddenDim", 1),
    device,
    threads: int("threads", 0),
    seed: int("seed", 0),
    limit: int("limit", 0),
    maxSteps: int("maxSteps", 0),
    out: String(c.out),
    knnEvery: int("knnEvery", 0),
    checkpointEvery: int("checkpointEvery", 0),
    logEvery: int("logEvery", 1),
    amp: Boolean(c.amp),
    channelsLast: Boolean(c.channelsLast),
    evaluate: Boolean(c.evaluate),
  };
}

/** preset < config file < flags. */
export function resolveConfig(
  preset: string | undefined,
  file: Record<string, unknown> | undefined,
  flags: Record<string, unknown>,
): TrainConfig {
  const name = (flags.preset ?? file?.preset ?? preset ?? "fashion-mnist") as string;
  const p = PRESETS[name];
  if (p === undefined) {
    throw new ConfigError(
      `unknown preset "${name}"; choose one of ${Object.keys(PRESETS).join(", ")}`,
    );
  }
  const defined = (o: Record<string, unknown> | undefined) =>
    Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined));
  return validate({ ...p, preset: name, ...defined(file), ...defined(flags) });
}

export const DEFAULTS: Readonly<TrainConfig> = BASE;
