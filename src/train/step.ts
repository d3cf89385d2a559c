// One training step of a run's method: --accumulate-grad-batches batches, each
// with its two augmented views, the method's forward (and the online probe's
// loss on the detached features), backward of the loss over the number of
// batches, then the optimizer step and the method's own update (BYOL's EMA),
// all in one tidy scope. The loss is read back to the host only when asked
// (the read waits for the device, so the loop asks every --log-every steps).
import { tidy } from "../../ffi/memory.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import { noGrad } from "../../ffi/runtime.ts";
import { inPrecision } from "./precision.ts";
import { encoderFeatures } from "./monitor.ts";
import type { Run } from "./run.ts";
import { meanOverRanks, syncGradients } from "../distributed/world.ts";

export interface StepResult {
  /** The method's loss (mean over the step's batches), or NaN when it was not read back. */
  loss: number;
  lr: number;
  /** The method's own metrics (BYOL: { tau }), then the online probe's loss when read back. */
  metrics: Record<string, number>;
}

/**
 * The loss of batch `micro` of step `step`, backward of it divided by the
 * step's number of batches (so the gradients add up to the mean's), and the
 * online probe's. Returns the two losses, detached.
 */
function microStep(
  run: Run,
  step: number,
  micro: number,
  drawsFrom: Tensor | null,
): { loss: Tensor; probeLoss: Tensor | null } {
  const { cfg, schedule } = run;
  const n = cfg.accumulateGradBatches;
  const epoch = Math.floor(step / schedule.stepsPerEpoch);
  const inEpoch = step - epoch * schedule.stepsPerEpoch;
  return tidy(() => {
    // With several ranks: this rank's share of the global batch, and of the
    // augmentation parameters drawn for all of it (the generator advances as
    // in one process, so its state is the same on every rank).
    const batch = run.loader.batch(epoch, inEpoch * n + micro);
    // Accumulating: every batch of the step draws from the step's first
    // generator state, its own slice of one draw for all n batches, so the
    // views (and the generator after the step) are those of one n-times larger
    // batch: the loader's batches of a step are that batch's images in order.
    if (drawsFrom !== null) run.generator.setState(drawsFrom);
    return forwardBackward(run, batch.images, batch.labels, {
      offset: micro * batch.globalSize + batch.offset,
      total: n * batch.globalSize,
    });
  });
}

/**
 * The two views of `images` (their augmentation parameters: rows
 * [offset, offset + B) of one draw for `total` images), the method's forward
 * in the run's precision, the online probe's loss, and backward of their sum
 * over --accumulate-grad-batches. Returns both losses, detached. Free of host
 * reads: the CUDA-graph step captures it as it is (graph_step.ts).
 */
export function forwardBackward(
  run: Run,
  images: Tensor,
  labels: Tensor | null,
  draws: { offset: number; total: number },
): { loss: Tensor; probeLoss: Tensor | null } {
  const { cfg, method, probe } = run;
  const n = cfg.accumulateGradBatches;
  return tidy(() => {
    let [v1, v2] = run.augment.twoViews(images, run.generator, draws);
    if (cfg.channelsLast) {
      v1 = v1.contiguous("channelsLast");
      v2 = v2.contiguous("channelsLast");
    }
    // bf16-mixed: autocast's policy on the run's device (convolutions, linear
    // layers and matmuls in bf16, every forward of the method alike); weights,
    // gradients, optimizer state and a BYOL target stay float32, and the
    // losses take float32 copies of the heads' outputs.
    const out = inPrecision(run.precision, run.device, () => method.forward(v1, v2));
    let total = out.loss;
    let probeLoss: Tensor | null = null;
    if (probe !== null && labels !== null) {
      probeLoss = cfg.onlineProbe === "images"
        ? probe.loss(imageFeatures(run, images), labels)
        : probe.loss(out.features, labels.repeat([2]));
      total = total.add(probeLoss);
    }
    (n > 1 ? total.div(n) : total).backward();
    return { loss: out.loss.detach(), probeLoss: probeLoss?.detach() ?? null };
  });
}

/**
 * The encoder's features of a batch's unaugmented images (normalised as the
 * views are), as the monitor extracts them: eval mode, no graph, the step's
 * precision; the method is back in train mode after.
 */
function imageFeatures(run: Run, images: Tensor): Tensor {
  try {
    return noGrad(() =>
      encoderFeatures(run.method.encoder, images, run.augment.config.view1, {
        batchSize: images.size(0),
        precision: run.precision,
      })
    );
  } finally {
    run.method.train();
  }
}

/** Runs optimizer step number `step` (0-based) of `run`. */
export function trainStep(run: Run, step: number, readLoss: boolean): StepResult {
  const { cfg, schedule, optimizer, method, ddp } = run;
  const n = cfg.accumulateGradBatches;
  const lr = schedule.lrAt(step);
  optimizer.setLr(lr);
  return tidy(() => {
    optimizer.zeroGrad();
    let loss: Tensor | null = null;
    let probeLoss: Tensor | null = null;
    const drawsFrom = n > 1 ? run.generator.getState() : null;
    for (let i = 0; i < n; i++) {
      // Several ranks: gradients are averaged once, after the step's last batch.
      const r = i < n - 1 && ddp !== null
        ? ddp.noSync(() => microStep(run, step, i, drawsFrom))
        : microStep(run, step, i, drawsFrom);
      loss = loss === null ? r.loss : loss.add(r.loss);
      if (r.probeLoss !== null) {
        probeLoss = probeLoss === null ? r.probeLoss : probeLoss.add(r.probeLoss);
      }
    }
    syncGradients(run);
    optimizer.step();
    const metrics = { ...method.afterStep(step, schedule.allSteps) };
    // The logged losses are the global batch's: the mean over the ranks' shares.
    const read = (t: Tensor) => meanOverRanks(run.world, t.item() / n);
    if (readLoss && probeLoss !== null) metrics.probeLoss = read(probeLoss);
    return { loss: readLoss ? read(loss!) : NaN, lr, metrics };
  });
}
