// Resolving a run's settings: named presets, a JSON/YAML config file, flags
// (preset < file < flags), and the resume rules. The settings themselves and
// their checks are the table in settings.ts; the methods' recipes come loaded
// with their registrations (methods.ts, which loads libtorch with them).
import { parse as parseYaml } from "../../deps/yaml.ts";
import {
  ConfigError,
  kebab,
  migrateSaved,
  PRESET_NAMES,
  RESUMABLE,
  type SettingKey,
  type TrainConfig,
  validate,
} from "./settings.ts";
import { methodRecipe } from "./methods.ts";

export {
  ConfigError,
  DEFAULTS,
  type EncoderName,
  kebab,
  type OptimizerName,
  type TrainConfig,
  validate,
} from "./settings.ts";

/**
 * Named recipes over the defaults. `fashion-mnist` is the default run (see
 * docs/TRAINING.md for how it was chosen); the others scale up. A preset for
 * a particular data set fixes its augmentation, view size and channels; the
 * default one lets them follow the data.
 */
export const PRESETS: Record<(typeof PRESET_NAMES)[number], Partial<TrainConfig>> = {
  // Chosen by the sweeps on the validation split (docs/TRAINING.md): batch 64
  // (more steps), 2048-256 heads, a 48-wide convnet, 12 epochs, with the
  // fashion-mnist augmentation's 0.4 crop scale.
  "fashion-mnist": { width: 48, epochs: 12, batchSize: 64, hiddenDim: 2048, projectionDim: 256 },
  "fashion-mnist-resnet18": {
    encoder: "resnet18",
    stem: "cifar",
    epochs: 10,
    hiddenDim: 4096,
    projectionDim: 256,
  },
  // After solo-learn's BYOL CIFAR recipe: LARS 1.0 x batch/256, wd 1e-5,
  // 10 warm-up epochs, tau 0.99, projector 4096 -> 256, 1000 epochs.
  "cifar10-resnet18": {
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
  },
};

function defined(o: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined));
}

/**
 * preset < the method's recipe < config file < flags. A method's recipe
 * (its registration file's, loaded by methods.ts) replaces the preset's heads and optimizer, which were
 * tuned for BYOL; values it derives (SimSiam's lr from the batch size) follow
 * the batch size the run will have.
 */
export function resolveConfig(
  file: Record<string, unknown> | undefined,
  flags: Record<string, unknown>,
): TrainConfig {
  const name = String(flags.preset ?? file?.preset ?? "fashion-mnist");
  const preset = PRESETS[name as keyof typeof PRESETS];
  if (preset === undefined) {
    throw new ConfigError(
      `unknown preset "${name}"; choose one of ${Object.keys(PRESETS).join(", ")}`,
    );
  }
  const given = validate({ ...preset, preset: name, ...defined(file), ...defined(flags) });
  const recipe = methodRecipe(given.method, given);
  return foldAmp(
    validate({ ...preset, preset: name, ...recipe, ...defined(file), ...defined(flags) }),
  );
}

/** `amp: true` is `precision: "bf16-mixed"`; a new run's saved config holds only the precision. */
function foldAmp(cfg: TrainConfig): TrainConfig {
  if (!cfg.amp) return cfg;
  if (cfg.precision === "32") {
    throw new ConfigError("--amp (bf16-mixed) contradicts --precision 32; give one of them");
  }
  return { ...cfg, amp: false, precision: "bf16-mixed" };
}

/**
 * The settings of a resumed run: the saved ones (migrated), with only the
 * resumable ones taken from `flags`; any other flag that differs is refused.
 */
export function resumeConfig(
  saved: Record<string, unknown>,
  flags: Record<string, unknown>,
  runDir: string,
): TrainConfig {
  const base = validate({ ...migrateSaved(saved), out: runDir });
  for (const [k, v] of Object.entries(defined(flags))) {
    if (k === "out") continue;
    const key = k as SettingKey;
    if (!RESUMABLE.includes(key) && validate({ ...base, [k]: v })[key] !== base[key]) {
      throw new ConfigError(
        `--${kebab(k)} cannot change on --resume (the run used ${JSON.stringify(base[key])}); ` +
          `only ${RESUMABLE.map((r) => "--" + kebab(r)).join(", ")} may`,
      );
    }
  }
  return validate({ ...base, ...defined(flags), out: runDir });
}

/** Reads a JSON or YAML file of settings (camelCase or the flags' kebab-case keys). */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let body: string;
  try {
    body = await Deno.readTextFile(path);
  } catch (e) {
    throw new ConfigError(`--config ${path}: cannot read it (${(e as Error).message})`);
  }
  try {
    const v = path.endsWith(".json") ? JSON.parse(body) : parseYaml(body);
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not a mapping");
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k.replace(/-([a-z])/g, (_, c) => c.toUpperCase()), x]),
    );
  } catch (e) {
    throw new ConfigError(
      `--config ${path}: not a JSON/YAML mapping of settings (${(e as Error).message})`,
    );
  }
}
