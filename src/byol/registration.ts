// BYOL's registration with the trainer (src/train/method_registry.ts loads it):
// its title, description, recipe and how it is built from a run's settings.
import type { MethodRegistration } from "../method/method.ts";
import { BYOL } from "./model.ts";

export default {
  title: "BYOL",
  describe: (s) =>
    `BYOL (Grill et al. 2020): projector ${s.hiddenDim} -> ${s.projectionDim}, predictor ` +
    `${s.predictorDim > 0 ? s.predictorDim : s.hiddenDim} -> ${s.projectionDim}, EMA target ` +
    `from tau ${s.tauBase}`,
  // The presets were tuned for BYOL: nothing to change.
  recipe: () => ({}),
  build: (encoder, s, o) =>
    new BYOL(encoder, {
      projectionDim: s.projectionDim,
      hiddenDim: s.hiddenDim,
      ...(s.predictorDim > 0 ? { predictorDim: s.predictorDim } : {}),
      tauBase: s.tauBase,
      device: o.device,
      syncBatchNorm: o.syncBatchNorm,
    }),
} satisfies MethodRegistration;
