// The online linear probe (solo-learn's, lightly's and DeepMind BYOL's online
// classifier): a linear classifier trained during pretraining on the encoder's
// detached features of the batch's unaugmented images (--online-probe images,
// the default) or of the step's views, so a run reports how linearly
// separable its features are at every monitor point without an offline probe.
// BatchNorm without affine standardises the features first (as MAE's linear
// probe does), so one learning rate fits any encoder's feature scale. Its
// parameters are a group of the run's optimizer (no weight decay, no LARS
// adaptation, a fixed lr scale): checkpointed and resumed with it.
import type { Tensor } from "../../ffi/tensor.ts";
import { crossEntropy } from "../../ffi/functional.ts";
import { cat } from "../../ffi/creation.ts";
import { tidy } from "../../ffi/memory.ts";
import { noGrad } from "../../ffi/runtime.ts";
import { BatchNorm1d, Linear, Sequential } from "../nn/layers.ts";
import { convertSyncBatchNorm } from "../nn/sync_batchnorm.ts";

/**
 * The probe's learning rate for each optimizer of the run (its group's lr at
 * the schedule's peak; it follows the run's warm-up and cosine). AdamW's was
 * chosen on the default run's validation split (4 epochs, the unaugmented
 * images): 1e-3, 3e-3 and 1e-2 ended 3.2, 1.5 and 0.6 points under the
 * offline probe (docs/TRAINING.md); SGD's and LARS's are untuned.
 */
export const PROBE_LR = { adamw: 1e-2, sgd: 0.1, lars: 0.1 } as const;

/** Scores predictions in chunks, so a large test split is never one logits matrix. */
const SCORE_CHUNK = 4096;

export class OnlineProbe {
  readonly classifier: Sequential;
  readonly numClasses: number;

  /**
   * `syncBatchNorm` (several ranks): the standardising BatchNorm takes the
   * global batch's statistics, as one process computes them, so the probe does
   * not depend on the number of processes.
   */
  constructor(
    featureDim: number,
    numClasses: number,
    device: string,
    opts: { syncBatchNorm?: boolean } = {},
  ) {
    this.numClasses = numClasses;
    this.classifier = new Sequential(
      new BatchNorm1d(featureDim, { affine: false }),
      new Linear(featureDim, numClasses),
    );
    if (opts.syncBatchNorm) convertSyncBatchNorm(this.classifier);
    if (device !== "cpu") this.classifier.to(device);
  }

  namedParameters(prefix = "probe"): [string, Tensor][] {
    return this.classifier.namedParameters(prefix);
  }

  namedBuffers(prefix = "probe"): [string, Tensor][] {
    return this.classifier.namedBuffers(prefix);
  }

  /** The classifier's state (checkpoints keep it under `probe.`); loadStateDict takes it back. */
  stateDict(): Record<string, Tensor> {
    return this.classifier.stateDict();
  }

  loadStateDict(dict: Record<string, Tensor>): void {
    this.classifier.loadStateDict(dict);
  }

  /**
   * The cross-entropy of the classifier on `features` (N, D) of views whose
   * images have `labels` (N,), in float32; the features are detached here, so
   * no gradient reaches the encoder. Trains the classifier in train mode.
   */
  loss(features: Tensor, labels: Tensor): Tensor {
    this.classifier.train();
    using f = features.detach();
    using f32 = f.to({ dtype: "float32" });
    using logits = this.classifier.forward(f32);
    return crossEntropy(logits, labels);
  }

  /** Top-1 accuracy (percent) on frozen features (N, D) with `labels` (N,); eval mode. */
  accuracy(features: Tensor, labels: Tensor): number {
    this.classifier.eval();
    try {
      return noGrad(() =>
        tidy(() => {
          const n = features.size(0);
          const hits: Tensor[] = [];
          for (let i = 0; i < n; i += SCORE_CHUNK) {
            const len = Math.min(SCORE_CHUNK, n - i);
            const f = features.narrow(0, i, len).to({ dtype: "float32" });
            const pred = this.classifier.forward(f).argmax({ dim: 1 });
            hits.push(pred.eq(labels.narrow(0, i, len)).to({ dtype: "float32" }));
          }
          return 100 * cat(hits, 0).mean().item();
        })
      );
    } finally {
      this.classifier.train();
    }
  }

  dispose(): void {
    this.classifier.dispose();
  }
}
