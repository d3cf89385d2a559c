// The method registry: every self-supervised method the trainer runs, each with
// its title, a one-line description, the settings it changes from a preset
// (its own recipe), and how to build it over an encoder. The names
// (settings.ts's --method choices) are this table's keys.
//
// Pure data and functions, like encoder_registry.ts: this module loads no
// libtorch (settings.ts takes the names from here). `build` receives the
// method classes from src/train/methods.ts, which does load them.
import type { BYOL } from "../byol/model.ts";
import type { SimSiam } from "../simsiam/model.ts";
import type { Encoder, Method } from "../method/method.ts";

/** The method classes, handed to `build` by methods.ts (one entry per method file). */
export interface MethodClasses {
  BYOL: typeof BYOL;
  SimSiam: typeof SimSiam;
}

/** The settings a method is built from. */
export interface MethodSettings {
  projectionDim: number;
  hiddenDim: number;
  /** 0: the method's own default. */
  predictorDim: number;
  tauBase: number;
}

/** A recipe value a method sets over the preset's, as a value or from the preset's settings. */
type RecipeValue = number | string | ((preset: Record<string, unknown>) => number | string);

interface MethodKind {
  /** How the method is named in messages and tables ("BYOL"). */
  readonly title: string;
  /** One line: what the method is. */
  describe(s: MethodSettings): string;
  /**
   * The settings the method's recipe sets over the preset's (a preset's values
   * were tuned for BYOL); a config file or a flag overrides them.
   */
  readonly recipe: Readonly<Record<string, RecipeValue>>;
  build(
    classes: MethodClasses,
    encoder: Encoder,
    s: MethodSettings,
    opts: { device: string; syncBatchNorm: boolean },
  ): Method;
}

export const METHOD_REGISTRY = {
  byol: {
    title: "BYOL",
    describe: (s) =>
      `BYOL (Grill et al. 2020): projector ${s.hiddenDim} -> ${s.projectionDim}, predictor ` +
      `${s.predictorDim > 0 ? s.predictorDim : s.hiddenDim} -> ${s.projectionDim}, EMA target ` +
      `from tau ${s.tauBase}`,
    recipe: {},
    build: (c, encoder, s, o) =>
      new c.BYOL(encoder, {
        projectionDim: s.projectionDim,
        hiddenDim: s.hiddenDim,
        ...(s.predictorDim > 0 ? { predictorDim: s.predictorDim } : {}),
        tauBase: s.tauBase,
        device: o.device,
        syncBatchNorm: o.syncBatchNorm,
      }),
  },
  simsiam: {
    title: "SimSiam",
    describe: (s) =>
      `SimSiam (Chen & He 2021): projector ${s.hiddenDim} -> ${s.projectionDim}, predictor ` +
      `${s.projectionDim} -> ${simsiamPredictorDim(s)} -> ${s.projectionDim}, stop-gradient`,
    // The paper's heads (2048-d projection, 512-d predictor bottleneck) and
    // its optimizer: SGD, momentum 0.9, lr 0.05 x batch / 256, weight decay
    // 1e-4 (5e-4 in its CIFAR recipe), no warm-up.
    recipe: {
      projectionDim: 2048,
      hiddenDim: 2048,
      predictorDim: 512,
      optimizer: "sgd",
      lr: (p) => 0.05 * Number(p.batchSize ?? 256) / 256,
      weightDecay: 1e-4,
      warmupEpochs: 0,
    },
    build: (c, encoder, s, o) =>
      new c.SimSiam(encoder, {
        projectionDim: s.projectionDim,
        hiddenDim: s.hiddenDim,
        predictorDim: simsiamPredictorDim(s),
        device: o.device,
        syncBatchNorm: o.syncBatchNorm,
      }),
  },
} as const satisfies Record<string, MethodKind>;

function simsiamPredictorDim(s: MethodSettings): number {
  return s.predictorDim > 0 ? s.predictorDim : Math.max(1, Math.floor(s.projectionDim / 4));
}

export type MethodName = keyof typeof METHOD_REGISTRY;
/** The method names, the registry's keys (settings.ts's --method choices). */
export const METHODS = Object.keys(METHOD_REGISTRY) as readonly MethodName[];

function kindOf(name: MethodName): MethodKind {
  return METHOD_REGISTRY[name];
}

/** How a method is named in messages ("BYOL", "SimSiam"). */
export function methodTitle(name: MethodName): string {
  return kindOf(name).title;
}

/** One line: the method a config trains. */
export function describeMethod(name: MethodName, s: MethodSettings): string {
  return kindOf(name).describe(s);
}

/**
 * The settings a method's recipe sets over `preset` (the preset's settings,
 * defaults included, for values derived from them such as the batch size).
 */
export function methodRecipe(
  name: MethodName,
  preset: Record<string, unknown>,
): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(kindOf(name).recipe)) {
    out[k] = typeof v === "function" ? v(preset) : v;
  }
  return out;
}

/** Builds the method `name` over `encoder` with the classes given (methods.ts). */
export function buildFromRegistry(
  classes: MethodClasses,
  name: MethodName,
  encoder: Encoder,
  s: MethodSettings,
  opts: { device: string; syncBatchNorm: boolean },
): Method {
  return kindOf(name).build(classes, encoder, s, opts);
}
