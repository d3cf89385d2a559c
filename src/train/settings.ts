// The one table of training settings. Each entry gives the default, the flag's
// help, how a value is checked (with a message naming the bad value and the
// fix) and whether it may change on --resume. The TrainConfig type, the
// defaults, the CLI flags, validation and the resume rules all derive from it.
import { PRESET_NAMES as AUGMENT_PRESETS } from "../augment/presets.ts";

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** `batchSize` -> `batch-size`, the flag's spelling. */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

export interface Setting<T> {
  default: T;
  help: string;
  /** The value's placeholder in --help (`<n>`); absent for on/off switches. */
  arg?: string;
  /** Checks and converts a value from a flag, a file or a saved run. */
  parse(v: unknown, key: string): T;
  /** true: may differ on --resume without changing the training (device, cadences). */
  resumable?: boolean;
  /**
   * The value a run saved before this setting existed had (config migration),
   * or how to derive it from the saved settings.
   */
  legacy?: T | ((saved: Record<string, unknown>) => T);
}

const bad = (key: string, rule: string, v: unknown) =>
  new ConfigError(`--${kebab(key)} must be ${rule}, got ${JSON.stringify(v)}`);

function toNumber(v: unknown): unknown {
  return typeof v === "string" && v.trim() !== "" ? Number(v) : v;
}

function int(def: number, min: number, help: string, extra: Partial<Setting<number>> = {}) {
  return {
    default: def,
    help,
    arg: "<n>",
    parse(v: unknown, key: string): number {
      const n = toNumber(v);
      if (typeof n !== "number" || !Number.isInteger(n) || n < min) {
        throw bad(key, `an integer >= ${min}`, v);
      }
      return n;
    },
    ...extra,
  } satisfies Setting<number>;
}

function real(
  def: number,
  ok: (n: number) => boolean,
  rule: string,
  help: string,
  extra: Partial<Setting<number>> = {},
) {
  return {
    default: def,
    help,
    arg: "<x>",
    parse(v: unknown, key: string): number {
      const n = toNumber(v);
      if (typeof n !== "number" || !Number.isFinite(n) || !ok(n)) throw bad(key, rule, v);
      return n;
    },
    ...extra,
  } satisfies Setting<number>;
}

function choice<const T extends string>(
  def: NoInfer<T>,
  options: readonly T[],
  help: string,
  extra: Partial<Setting<T>> = {},
) {
  return {
    default: def,
    help: `${help}: ${options.join(" | ")}`,
    arg: "<name>",
    parse(v: unknown, key: string): T {
      if (typeof v !== "string" || !options.includes(v as T)) {
        throw new ConfigError(
          `--${kebab(key)} must be one of ${options.join(", ")}, got ${JSON.stringify(v)}`,
        );
      }
      return v as T;
    },
    ...extra,
  } satisfies Setting<T>;
}

function text(def: string, help: string, arg: string, extra: Partial<Setting<string>> = {}) {
  return {
    default: def,
    help,
    arg,
    parse(v: unknown, key: string): string {
      if (typeof v !== "string") throw bad(key, "text", v);
      return v;
    },
    ...extra,
  } satisfies Setting<string>;
}

function flag(def: boolean, help: string, extra: Partial<Setting<boolean>> = {}) {
  return {
    default: def,
    help,
    parse(v: unknown, key: string): boolean {
      if (typeof v === "boolean") return v;
      if (v === "true" || v === "false") return v === "true";
      throw bad(key, "true or false", v);
    },
    ...extra,
  } satisfies Setting<boolean>;
}

// The encoder kinds, methods and loggers are their registries' (encoder_registry.ts,
// method_registry.ts, loggers/registry.ts).
import { ENCODERS } from "./encoder_registry.ts";
import { METHODS } from "./method_registry.ts";
import { LOGGER_REGISTRY, LOGGERS } from "./loggers/registry.ts";
export { type EncoderName, ENCODERS } from "./encoder_registry.ts";
export { type MethodName, METHODS } from "./method_registry.ts";
export const OPTIMIZERS = ["lars", "adamw", "sgd"] as const;
export type OptimizerName = typeof OPTIMIZERS[number];
/** Preset names; the recipes themselves are in presets.ts. */
export const PRESET_NAMES = [
  "fashion-mnist",
  "fashion-mnist-resnet18",
  "cifar10-resnet18",
  "imagenet-resnet50",
] as const;

/**
 * Every training setting. `auto` / 0 for augment, imageSize, storedSize and channels mean
 * "follow the data" (see data_defaults.ts); a run's config.json holds what was chosen.
 */
export const SETTINGS = {
  data: text(
    "fashion-mnist",
    'training data: "fashion-mnist", an image folder, a CSV of path,label rows, or a CIFAR folder',
    "<path>",
  ),
  preset: choice("fashion-mnist", PRESET_NAMES, "recipe (any flag overrides it)"),
  method: choice(
    "byol",
    METHODS,
    "self-supervised method (its own recipe of heads and optimizer over the preset's; " +
      "docs/TRAINING.md)",
    { legacy: "byol" },
  ),
  encoder: choice("convnet", ENCODERS, "encoder"),
  stem: choice("cifar", ["imagenet", "cifar"] as const, "ResNet stem"),
  width: int(32, 1, "width of the convnet's first block"),
  augment: choice(
    "auto",
    ["auto", ...AUGMENT_PRESETS] as const,
    "augmentation preset (auto: fashion-mnist for 1 channel, cifar for small RGB, paper for large)",
  ),
  imageSize: int(0, 0, "view size in pixels (0: from the data)", {
    parse(v: unknown, key: string): number {
      const n = toNumber(v);
      if (typeof n !== "number" || !Number.isInteger(n) || (n !== 0 && n < 8)) {
        throw bad(key, "0 (from the data) or an integer >= 8", v);
      }
      return n;
    },
  }),
  storedSize: int(
    0,
    0,
    "side of the square that folder and CSV images are decoded and stored at (0: 8/7 of the " +
      "view for --augment paper, as torchvision's Resize(256) for 224; the view size otherwise); " +
      "views are cropped from it, evaluation takes its centre",
    {
      parse(v: unknown, key: string): number {
        const n = toNumber(v);
        if (typeof n !== "number" || !Number.isInteger(n) || (n !== 0 && n < 8)) {
          throw bad(key, "0 (from the view size) or an integer >= 8", v);
        }
        return n;
      },
      // Runs from before this setting decoded images at the view size.
      legacy: (saved) => typeof saved.imageSize === "number" ? saved.imageSize : 0,
    },
  ),
  channels: int(0, 0, "channels images are converted to: 1 or 3 (0: from the data)", {
    parse(v: unknown, key: string): number {
      const n = toNumber(v);
      if (n === 4 || n === "4") {
        throw new ConfigError(
          "--channels 4 (RGBA) is not supported: the encoders and augmentations take 1 or 3 " +
            "channels. RGBA images are read as RGB with the alpha channel dropped; use --channels 3",
        );
      }
      if (n !== 0 && n !== 1 && n !== 3) throw bad(key, "0 (from the data), 1 or 3", v);
      return n;
    },
  }),
  epochs: int(4, 1, "epochs"),
  batchSize: int(
    256,
    2,
    "images per forward over all processes (the global batch; per optimizer step with " +
      "--accumulate-grad-batches 1)",
  ),
  accumulateGradBatches: int(
    1,
    1,
    "batches whose gradients add up to one optimizer step (Lightning's): the loss and " +
      "gradients of N batches of --batch-size equal one N-times larger batch's, BatchNorm's " +
      "statistics aside (per batch); the schedules count optimizer steps",
    { legacy: 1 },
  ),
  optimizer: choice("adamw", OPTIMIZERS, "optimizer"),
  lr: real(1e-3, (n) => n > 0, "a number > 0", "peak learning rate"),
  weightDecay: real(1e-6, (n) => n >= 0, "a number >= 0", "weight decay"),
  warmupEpochs: real(0.5, (n) => n >= 0, "a number >= 0", "linear warm-up epochs"),
  cropScale: real(
    0,
    (n) => n >= 0 && n <= 1,
    "in [0, 1]",
    "smallest crop, as a fraction of the image area (0: the augmentation preset's)",
    { legacy: 0 },
  ),
  tauBase: real(
    0.99,
    (n) => n >= 0 && n <= 1,
    "in [0, 1]",
    "target EMA decay at step 0 (BYOL)",
  ),
  projectionDim: int(128, 1, "projector/predictor output size"),
  hiddenDim: int(1024, 1, "projector/predictor hidden width"),
  predictorDim: int(
    0,
    0,
    "predictor hidden width (0: the method's: --hidden-dim for BYOL, --projection-dim / 4 for SimSiam)",
    { legacy: 0 },
  ),
  device: text("auto", "auto | cpu | cuda | cuda:N", "<device>", {
    resumable: true,
    parse(v: unknown, key: string): string {
      if (typeof v !== "string" || !/^(auto|cpu|cuda(:\d+)?)$/.test(v)) {
        throw bad(key, "auto, cpu, cuda or cuda:N", v);
      }
      return v;
    },
  }),
  deterministic: flag(
    false,
    "deterministic algorithms (torch.use_deterministic_algorithms, cuDNN deterministic with " +
      "benchmark off, CUBLAS_WORKSPACE_CONFIG): two CUDA runs of one seed, and a resumed one, " +
      "give equal losses; an op without a deterministic kernel stops the run naming it",
    { resumable: true, legacy: false },
  ),
  cudaGraphs: choice(
    "auto",
    ["auto", "on", "off"] as const,
    "capture the training step in a CUDA graph and replay it each step (torch.cuda.graphs): " +
      "one launch instead of hundreds from the host; auto: on for a one-process CUDA run without " +
      "--accumulate-grad-batches, and the run says what it chose and why",
    { resumable: true, legacy: "off" },
  ),
  tf32: choice(
    "convolutions",
    ["convolutions", "all", "off"] as const,
    "TensorFloat-32 on CUDA (PyTorch's defaults: cuDNN convolutions in TF32, float32 matmuls " +
      "at highest precision); all: matmuls too (set_float32_matmul_precision high); off: neither",
    { resumable: true, legacy: "convolutions" },
  ),
  threads: int(0, 0, "CPU threads (0: all cores)", { resumable: true }),
  seed: int(0, 0, "random seed"),
  limit: int(0, 0, "use only the first N training images (0: all)"),
  valSize: int(
    0,
    0,
    "hold out the last N training images as a validation split, scored instead of the test split (0: off)",
    { legacy: 0 },
  ),
  maxSteps: int(0, 0, "stop after N steps; the schedules still span --epochs (0: all)", {
    resumable: true,
  }),
  out: text("", "run folder (default runs/<date>-<preset>)", "<dir>"),
  knnEvery: int(1, 0, "kNN monitor (and online probe score) every N epochs (0: off)", {
    resumable: true,
  }),
  onlineProbe: choice(
    "images",
    ["images", "views", "off"] as const,
    "online linear probe trained during pretraining (labelled data only), its test accuracy " +
      "logged with each kNN check and when the run ends; it learns from the detached features of " +
      "the batch's unaugmented images (images: one more inference forward a step; within 1 point " +
      "of the offline probe on the default run's validation split), or of the step's augmented " +
      "views (views: free, as solo-learn's and lightly's, 4 points lower there)",
    { legacy: "off" },
  ),
  logger: text(
    "jsonl",
    "where metrics go, comma-separated: " +
      LOGGERS.map((n) => `${n} (${LOGGER_REGISTRY[n].about})`).join(", "),
    "<names>",
    {
      resumable: true,
      legacy: "jsonl",
      parse(v: unknown, key: string): string {
        if (typeof v !== "string") throw bad(key, "text", v);
        const names = v.split(",").map((x) => x.trim()).filter((x) => x !== "");
        const unknown = names.filter((n) => !(LOGGERS as readonly string[]).includes(n));
        if (unknown.length > 0 || names.length === 0) {
          throw new ConfigError(
            `--${kebab(key)} takes a comma-separated list of ${LOGGERS.join(", ")}, got ` +
              `${JSON.stringify(v)}`,
          );
        }
        return [...new Set(["jsonl", ...names])].join(",");
      },
    },
  ),
  checkpointEvery: int(200, 0, "checkpoint every N steps (0: only at epoch ends)", {
    resumable: true,
  }),
  logEvery: int(10, 1, "read the loss back every N steps", { resumable: true }),
  precision: choice(
    "auto",
    ["auto", "32", "bf16-mixed"] as const,
    "precision (auto: bf16-mixed on CUDA GPUs with bf16; on CPUs with AMX/AVX512-BF16 when a " +
      "short probe of the run's step shows it faster; 32 otherwise)",
    {
      // --amp was CUDA only: a CPU run with it trained in float32. A saved
      // "auto" device is taken as CUDA (where --amp was meant to apply).
      legacy: (saved) => saved.amp === true && saved.device !== "cpu" ? "bf16-mixed" : "32",
    },
  ),
  amp: flag(false, "alias of --precision bf16-mixed"),
  channelsLast: flag(true, "conv weights and views channels-last (NHWC)", { legacy: false }),
  evaluate: flag(true, "the final kNN / linear-probe evaluation", { resumable: true }),
  // Several processes (docs/DISTRIBUTED.md). torchrun's names and meanings;
  // all resumable: a checkpoint does not depend on the world size.
  nprocPerNode: int(1, 1, "training processes to start on this machine (torchrun's)", {
    resumable: true,
  }),
  nnodes: int(1, 1, "machines taking part (torchrun's --nnodes)", { resumable: true }),
  nodeRank: int(0, 0, "this machine's index, 0..nnodes-1 (torchrun's --node-rank)", {
    resumable: true,
  }),
  masterAddr: text(
    "127.0.0.1",
    "address of the machine that runs rank 0 (torchrun's --master-addr)",
    "<host>",
    { resumable: true },
  ),
  masterPort: int(
    0,
    0,
    "port of rank 0's store (0: a free port on one machine, 29500 with --nnodes > 1)",
    {
      resumable: true,
      parse(v: unknown, key: string): number {
        const n = toNumber(v);
        if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 65535) {
          throw bad(key, "0 (choose one) or a port in 1..65535", v);
        }
        return n;
      },
    },
  ),
  backend: choice(
    "auto",
    ["auto", "gloo", "nccl"] as const,
    "process-group backend of a multi-process run (auto: nccl on CUDA devices, gloo on the CPU)",
    { resumable: true, legacy: "auto" },
  ),
  distTimeout: int(
    300,
    1,
    "seconds a process waits for the others (start, every collective) before it gives up",
    { resumable: true },
  ),
} as const;

export type SettingKey = keyof typeof SETTINGS;
export type TrainConfig = { [K in SettingKey]: (typeof SETTINGS)[K]["default"] };
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

export const DEFAULTS: Readonly<TrainConfig> = Object.freeze(
  Object.fromEntries(SETTING_KEYS.map((k) => [k, SETTINGS[k].default])) as TrainConfig,
);

/** Checks every field of `raw` over the defaults; returns a typed copy. Unknown keys are refused. */
export function validate(raw: Record<string, unknown>): TrainConfig {
  for (const k of Object.keys(raw)) {
    if (!(k in SETTINGS)) {
      throw new ConfigError(`unknown setting "${k}"; known: ${SETTING_KEYS.join(", ")}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const k of SETTING_KEYS) {
    const s = SETTINGS[k] as Setting<unknown>;
    out[k] = k in raw && raw[k] !== undefined ? s.parse(raw[k], k) : s.default;
  }
  return out as TrainConfig;
}

/** The settings that may differ on --resume; every other one must equal the run's. */
export const RESUMABLE: readonly SettingKey[] = SETTING_KEYS.filter((k) =>
  (SETTINGS[k] as Setting<unknown>).resumable === true
);

/** Fills settings a saved run predates with the value such runs had. */
export function migrateSaved(saved: Record<string, unknown>): Record<string, unknown> {
  const out = { ...saved };
  for (const k of SETTING_KEYS) {
    const legacy = (SETTINGS[k] as Setting<unknown>).legacy;
    if (!(k in out) && legacy !== undefined) {
      out[k] = typeof legacy === "function" ? legacy(saved) : legacy;
    }
  }
  return out;
}
