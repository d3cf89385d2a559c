// A training run small enough for the test suite (512 images, a narrow
// convnet, every step logged), run in-process through the Trainer, and the
// losses its metrics.jsonl recorded. Shared by the trainer's tests.
import { join } from "node:path";
import { resolveConfig, type TrainConfig } from "../../src/train/config.ts";
import { Trainer } from "../../src/train/trainer.ts";

export const TINY: Partial<TrainConfig> = {
  limit: 512,
  precision: "32", // exact comparisons between runs; auto would pick by timing
  device: "cpu", // and so is the device: auto takes a GPU, where two runs of a seed differ
  epochs: 2,
  batchSize: 64,
  width: 8,
  hiddenDim: 64,
  projectionDim: 32,
  logEvery: 1,
  knnEvery: 0,
  evaluate: false,
  checkpointEvery: 3,
};

/** The loss of each logged step of a run folder's metrics.jsonl. */
export function losses(runDir: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const line of Deno.readTextFileSync(join(runDir, "metrics.jsonl")).split("\n")) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    if (typeof r.loss === "number") m.set(r.step, r.loss);
  }
  return m;
}

/** Trains TINY with `cfg` over it; with `stopAfter`, asks the loop to stop after that step. */
export async function runTiny(cfg: Partial<TrainConfig>, stopAfter = 0): Promise<Trainer> {
  const t = await Trainer.create(resolveConfig(undefined, { ...TINY, ...cfg }));
  await t.run({
    onLog: (m) => {
      if (stopAfter > 0 && m.step >= stopAfter) t.requestStop();
    },
  });
  return t;
}
