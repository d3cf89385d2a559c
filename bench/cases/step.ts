// The BYOL training step as src/train/trainer.ts runs it (augmentation, online
// and target forward of both views, loss, backward, optimizer, EMA), for a
// training preset at a batch size. Two variants: "e2e" (loader batch ->
// two views -> model step) and "model" (pre-made views -> model step).
// Before timing it writes the online weights and the first views to
// `checkPath` and reports the loss on them, for the PyTorch side to check.
import {
  autocast,
  BYOL,
  Generator,
  liveTensorCount,
  manualSeed,
  type Tensor,
  tidy,
} from "../../mod.ts";
import { makeAugment } from "../../src/augment/two_views.ts";
import type { PresetName } from "../../src/augment/presets.ts";
import { ImageLoader } from "../../src/data/loader.ts";
import { saveStateDict } from "../../src/io/tensors.ts";
import { resolveConfig } from "../../src/train/config.ts";
import { buildOptimizer } from "../../src/train/run.ts";
import { chooseDataDefaults } from "../../src/train/data_defaults.ts";
import { probeData } from "../../src/train/data_source.ts";
import { buildEncoder } from "../../src/train/encoders.ts";
import { FfiCounter, median, syntheticImages } from "../lib.ts";
import type { CaseParams } from "./params.ts";

const PHASES = ["augment", "forward", "backward", "optimizer", "ema", "free"] as const;
type Phase = typeof PHASES[number];

/** What the PyTorch twin needs to build the same step. */
export interface Recipe {
  preset: string;
  encoder: string;
  stem: string;
  width: number;
  channels: number;
  imageSize: number;
  batch: number;
  optimizer: string;
  lr: number;
  weightDecay: number;
  tauBase: number;
  hiddenDim: number;
  projectionDim: number;
  augment: unknown;
}

export interface VariantResult {
  /** Median step time, ms. */
  ms: number;
  pairsPerSec: number;
  all: number[];
  /** Median time of each phase, ms. */
  phases: Record<Phase, number>;
}

export async function run(p: CaseParams): Promise<Record<string, unknown>> {
  const batch = p.batch as number;
  const bf16 = p.precision === "bf16-mixed";
  const preset = resolveConfig(undefined, {
    preset: p.preset as string,
    batchSize: batch,
    device: "cpu",
    ...(p.oursNchw ? { channelsLast: false } : {}),
  });
  // The augmentation, view size and channels the trainer would choose for the preset's data.
  const { cfg } = chooseDataDefaults(preset, await probeData(preset.data));
  const channels = cfg.channels;
  manualSeed(0);
  // As the trainer: channels-last weights and views unless the preset says otherwise.
  const channelsLast = cfg.channelsLast;
  const encoder = buildEncoder(cfg, channels);
  if (channelsLast) encoder.channelsLast();
  const model = new BYOL(encoder, {
    projectionDim: cfg.projectionDim,
    hiddenDim: cfg.hiddenDim,
    tauBase: cfg.tauBase,
  });
  model.train();
  const optimizer = buildOptimizer(cfg, model);
  const augment = makeAugment(cfg.augment as PresetName, { size: cfg.imageSize });
  const stepsPerEpoch = 8;
  const set = syntheticImages(batch * stepsPerEpoch, channels, cfg.imageSize, cfg.imageSize);
  const loader = new ImageLoader(set, { batchSize: batch, seed: 0 });
  const gen = new Generator(1);
  const totalSteps = 1000;

  // Loss check (in fp32 whatever the timed precision): weights and first views
  // to a file, then our loss on them.
  const [v1, v2] = tidy(() => augment.twoViews(loader.batch(0, 0).images, gen));
  v1.keep();
  v2.keep();
  await saveStateDict(p.checkPath as string, { ...model.onlineStateDict(), view1: v1, view2: v2 });
  const checkLoss = tidy(() => model.loss(v1, v2).item());

  let k = 0;
  /** One step; `mark(phase)` is called at the end of each phase. */
  const step = (premade: boolean, mark: (ph: Phase) => void) => {
    tidy(() => {
      let a: Tensor, b: Tensor;
      if (premade) [a, b] = [v1, v2];
      else {
        const e = Math.floor(k / stepsPerEpoch);
        [a, b] = augment.twoViews(loader.batch(e, k % stepsPerEpoch).images, gen);
      }
      if (channelsLast) [a, b] = [a.contiguous("channelsLast"), b.contiguous("channelsLast")];
      mark("augment");
      // bf16-mixed as the trainer's step runs it (src/train/step.ts).
      const l = bf16 ? autocast(() => model.loss(a, b), { device: "cpu" }) : model.loss(a, b);
      mark("forward");
      optimizer.zeroGrad();
      l.backward();
      mark("backward");
      optimizer.step();
      mark("optimizer");
      model.updateTarget(k, totalSteps);
      mark("ema");
    });
    mark("free");
    k++;
  };

  /** Runs one step and returns each phase's share of `measure()` (time, calls). */
  const phased = (premade: boolean, measure: () => number): Record<Phase, number> => {
    const ends = {} as Record<Phase, number>;
    const t0 = measure();
    step(premade, (ph) => ends[ph] = measure());
    let prev = t0;
    const out = {} as Record<Phase, number>;
    for (const ph of PHASES) {
      out[ph] = ends[ph] - prev;
      prev = ends[ph];
    }
    return out;
  };
  const sum = (r: Record<Phase, number>) => PHASES.reduce((s, ph) => s + r[ph], 0);
  const now = () => performance.now();

  const variant = (premade: boolean, warmup: number): VariantResult => {
    for (let i = 0; i < warmup; i++) phased(premade, now);
    const all: number[] = [];
    const phases = Object.fromEntries(PHASES.map((ph) => [ph, [] as number[]]));
    const start = performance.now();
    for (let i = 0; i < p.reps; i++) {
      const t = phased(premade, now);
      all.push(sum(t));
      for (const ph of PHASES) phases[ph].push(t[ph]);
      if (all.length >= 2 && performance.now() - start > p.budgetMs) break;
    }
    const ms = median(all);
    return {
      ms,
      pairsPerSec: batch / (ms / 1e3),
      all,
      phases: Object.fromEntries(PHASES.map((ph) => [ph, median(phases[ph])])) as Record<
        Phase,
        number
      >,
    };
  };

  const liveBefore = liveTensorCount();
  const model_ = variant(true, p.warmup);
  // The model is warm by now; heavy cases skip the second warm-up.
  const e2e = variant(false, (p.e2eWarmup as number | undefined) ?? p.warmup);
  const liveAfter = liveTensorCount();

  // FFI calls of one step of each variant, by phase (a separate, untimed pass).
  const ffi: Record<string, unknown> = {};
  for (const premade of [true, false]) {
    const counter = new FfiCounter().start();
    let calls: Record<Phase, number>;
    try {
      calls = phased(premade, () => counter.total);
    } finally {
      counter.stop();
    }
    ffi[premade ? "model" : "e2e"] = { calls: sum(calls), byPhase: calls, top: counter.top(6) };
  }

  const recipe: Recipe = {
    preset: cfg.preset,
    encoder: cfg.encoder,
    stem: cfg.stem,
    width: cfg.width,
    channels,
    imageSize: cfg.imageSize,
    batch,
    optimizer: cfg.optimizer,
    lr: cfg.lr,
    weightDecay: cfg.weightDecay,
    tauBase: cfg.tauBase,
    hiddenDim: cfg.hiddenDim,
    projectionDim: cfg.projectionDim,
    augment: augment.config,
  };
  v1.dispose();
  v2.dispose();
  model.dispose();
  optimizer.dispose();
  loader.dispose();
  gen.dispose();
  return {
    recipe,
    checkLoss,
    model: model_,
    e2e,
    ffi,
    liveTensorsDelta: liveAfter - liveBefore,
  };
}
