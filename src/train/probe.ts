// The precision probe's timed steps (precision.ts decides from them): real
// training steps of a run's config on a throwaway copy of the run.
import { keepingCpuRng, type Precision } from "./precision.ts";
import { buildRun, type Run } from "./run.ts";
import { trainStep } from "./step.ts";

/**
 * Times real training steps of `run`'s config on a throwaway copy (same data
 * loader, fresh model, optimizer and generator; libtorch's CPU generator put
 * back), so probing leaves the run itself untouched. Call `dispose` after.
 */
export function probeSteps(run: Run): {
  probe: (precision: Precision, steps: number) => number[];
  dispose(): void;
} {
  const copy = keepingCpuRng(() => buildRun(run.cfg, run.data, run.device, { loader: run.loader }));
  let step = 0;
  return {
    probe(precision, steps) {
      copy.precision = precision;
      const ms: number[] = [];
      for (let i = 0; i < steps; i++) {
        const t0 = performance.now();
        // Reading the loss waits for the device, so the time is the step's.
        keepingCpuRng(() => trainStep(copy, step++ % copy.schedule.stepsPerEpoch, true));
        ms.push(performance.now() - t0);
      }
      return ms;
    },
    dispose() {
      copy.method.dispose();
      copy.probe?.dispose();
      copy.optimizer.dispose();
      copy.generator.dispose();
    },
  };
}
