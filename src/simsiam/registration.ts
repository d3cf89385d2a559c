// SimSiam's registration with the trainer (src/train/method_registry.ts loads
// it): its title, description, recipe and how it is built from a run's settings.
import type { MethodRegistration, MethodSettings } from "../method/method.ts";
import { SimSiam } from "./model.ts";

function predictorDim(s: MethodSettings): number {
  return s.predictorDim > 0 ? s.predictorDim : Math.max(1, Math.floor(s.projectionDim / 4));
}

export default {
  title: "SimSiam",
  describe: (s) =>
    `SimSiam (Chen & He 2021): projector ${s.hiddenDim} -> ${s.projectionDim}, predictor ` +
    `${s.projectionDim} -> ${predictorDim(s)} -> ${s.projectionDim}, stop-gradient`,
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
  build: (encoder, s, o) =>
    new SimSiam(encoder, {
      projectionDim: s.projectionDim,
      hiddenDim: s.hiddenDim,
      predictorDim: predictorDim(s),
      device: o.device,
      syncBatchNorm: o.syncBatchNorm,
    }),
} satisfies MethodRegistration;
