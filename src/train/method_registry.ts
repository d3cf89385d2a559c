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

interface MethodKind {
  /** How the method is named in messages and tables ("BYOL"). */
  readonly title: string;
  /** One line: what the method is. */
  describe(s: MethodSettings): string;
  /**
   * The settings the method's recipe sets over the preset's (a preset's values
   * were tuned for BYOL), from the preset's settings; a config file or a flag
   * overrides them.
   */
  recipe(preset: Record<string, unknown>): Record<string, number | string>;
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
    recipe: () => ({}),
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
    // The paper's heads (2048-d projection, 512-d predictor bottleneck) and,
    // over a preset's SGD or LARS, its optimizer: SGD, momentum 0.9, lr 0.05 x
    // batch / 256, weight decay 1e-4, no warm-up. A preset's AdamW stays: on
    // Fashion-MNIST's validation split (4 epochs) AdamW 1e-3 gave kNN-200
    // 81.45 where the paper's SGD gave 78.59 (and 80.42 at lr 0.05), docs/TRAINING.md.
    recipe: (p) => ({
      projectionDim: 2048,
      hiddenDim: 2048,
      predictorDim: 512,
      ...(p.optimizer === "adamw" ? {} : {
        optimizer: "sgd",
        lr: 0.05 * Number(p.batchSize) / 256,
        weightDecay: 1e-4,
        warmupEpochs: 0,
      }),
    }),
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
  return kindOf(name).recipe(preset);
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
