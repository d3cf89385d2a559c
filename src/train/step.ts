// One BYOL training step: a batch, two augmented views, the loss, backward,
// the optimizer step and the EMA update of the target, all in one tidy scope.
// The loss is read back to the host only when asked (the read waits for the
// device, so the loop asks every --log-every steps).
import { tidy } from "../../ffi/memory.ts";
import { inPrecision } from "./precision.ts";
import type { Run } from "./run.ts";
import { meanOverRanks, syncGradients } from "./world.ts";

export interface StepResult {
  /** The loss, or NaN when it was not read back. */
  loss: number;
  /** The EMA decay used for the target update. */
  tau: number;
  lr: number;
}

/** Runs step number `step` (0-based) of `run`. */
export function trainStep(run: Run, step: number, readLoss: boolean): StepResult {
  const { cfg, schedule, optimizer, model } = run;
  const epoch = Math.floor(step / schedule.stepsPerEpoch);
  const lr = schedule.lrAt(step);
  optimizer.setLr(lr);
  return tidy(() => {
    // With several ranks: this rank's share of the global batch, and of the
    // augmentation parameters drawn for all of it (the generator advances as
    // in one process, so its state is the same on every rank).
    const batch = run.loader.batch(epoch, step - epoch * schedule.stepsPerEpoch);
    let [v1, v2] = run.augment.twoViews(batch.images, run.generator, {
      offset: batch.offset,
      total: batch.globalSize,
    });
    if (cfg.channelsLast) {
      v1 = v1.contiguous("channelsLast");
      v2 = v2.contiguous("channelsLast");
    }
    // bf16-mixed: autocast's policy on the run's device (convolutions, linear
    // layers and matmuls in bf16, online and target forwards alike); weights,
    // gradients, optimizer state and the EMA target stay float32, and the
    // loss normalises float32 copies of the projections (BYOL.loss).
    const l = inPrecision(run.precision, run.device, () => model.loss(v1, v2));
    optimizer.zeroGrad();
    l.backward();
    syncGradients(run);
    optimizer.step();
    const tau = model.updateTarget(step, schedule.allSteps);
    // The logged loss is the global batch's: the mean over the ranks' shares.
    return { loss: readLoss ? meanOverRanks(run.world, l.item()) : NaN, tau, lr };
  });
}
