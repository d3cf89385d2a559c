// The host's cost of one training step, where compute is negligible: the
// trainer's step (graph_step.ts's step object: loader batch, two views, BYOL
// forward and backward, AdamW, EMA) on a tiny model (convnet width 4, batch 2,
// heads 16-8), as the GPU's launch-bound regime looks from the host. Reports
// FFI calls per step (the shim's own counter) and microseconds per step, for
// the eager step and, on a CUDA device with CUDA graphs, the captured one.
import { cuda, ffiCalls } from "../../mod.ts";
import { cudaGraphsAvailable } from "../../ffi/cuda_graph.ts";
import { resolveConfig } from "../../src/train/config.ts";
import { createStepRunner, WARMUP_STEPS } from "../../src/train/graph_step.ts";
import { buildRun, configureRuntime, disposeRun, prepareData } from "../../src/train/run.ts";
import type { CaseParams } from "./params.ts";

/** The loss is read back every this many steps (the trainer's --log-every default). */
const READ_EVERY = 50;

export interface HostMode {
  /** Shim calls per optimizer step (loss reads included, amortised). */
  callsPerStep: number;
  /** Wall microseconds per step over the timed steps (the last one's loss read included). */
  usPerStep: number;
  steps: number;
}

export async function run(
  p: CaseParams,
): Promise<{ device: string; eager: HostMode; captured: HostMode | null }> {
  const device = cuda.isAvailable() ? "cuda" : "cpu";
  const steps = Math.max(50, Math.min(1000, (p.reps as number) * 40));
  const measure = async (cudaGraphs: "on" | "off"): Promise<HostMode> => {
    const base = resolveConfig(undefined, {
      limit: 4096,
      batchSize: 2,
      width: 4,
      hiddenDim: 16,
      projectionDim: 8,
      epochs: 1,
      device,
      precision: "32",
      cudaGraphs,
      knnEvery: 0,
      evaluate: false,
      threads: p.threads,
    });
    const { cfg, data } = await prepareData(base);
    configureRuntime(cfg, device);
    const run = buildRun(cfg, data, device);
    const stepper = createStepRunner(run);
    try {
      let k = 0;
      // The warm-up, the capture (when graphed) and the first replays.
      for (; k < WARMUP_STEPS + 5; k++) stepper.run(k, true);
      const c0 = ffiCalls();
      const t0 = performance.now();
      for (let i = 1; i <= steps; i++, k++) stepper.run(k, i % READ_EVERY === 0 || i === steps);
      const us = (performance.now() - t0) * 1000 / steps;
      return { callsPerStep: (ffiCalls() - c0) / steps, usPerStep: us, steps };
    } finally {
      stepper[Symbol.dispose]();
      disposeRun(run);
    }
  };
  const eager = await measure("off");
  const captured = device === "cuda" && cudaGraphsAvailable() ? await measure("on") : null;
  return { device, eager, captured };
}
