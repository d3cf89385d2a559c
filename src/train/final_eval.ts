// The end of a run: kNN and linear-probe accuracy of the trained encoder next
// to the two floors BYOL has to beat, a random-init encoder of the same
// architecture and seed and the raw (normalised) pixels, printed as a table
// and written to eval.json.
import { manualSeed } from "../../ffi/runtime.ts";
import { Flatten } from "../nn/layers.ts";
import { buildEncoder } from "./encoders.ts";
import { type EncoderEval, evaluateEncoder } from "./monitor.ts";
import type { Run } from "./run.ts";
import type { RunFolder } from "./run_folder.ts";

export interface FinalEvaluation {
  trained: EncoderEval;
  randomInit: EncoderEval;
  /** The same protocol on the flattened pixels, normalised as the views are. */
  rawPixels: EncoderEval;
  /** The images scored: the test split, or the validation images of --val-size. */
  split: "test" | "validation";
  seconds: number;
}

/**
 * Evaluates a trained run's encoder and a random-init one; writes eval.json to
 * the run folder. With several ranks every rank extracts its share of the
 * features; rank 0 scores, writes and returns the result, the others null.
 */
export async function finalEvaluation(
  run: Run,
  folder: RunFolder,
): Promise<FinalEvaluation | null> {
  const t0 = performance.now();
  const { data, device, cfg } = run;
  if (data.test === null) throw new Error(`${data.description} has no labelled test split`);
  const norm = run.augment.config.view1;
  const { world } = run;
  const trained = evaluateEncoder(run.model.encoder, data.train, data.test, device, norm, world);
  manualSeed(cfg.seed); // the same initial weights the run started from
  const random = buildEncoder(cfg, data.train.channels);
  if (device !== "cpu") random.to(device);
  const randomInit = evaluateEncoder(random, data.train, data.test, device, norm, world);
  random.dispose();
  const rawPixels = evaluateEncoder(new Flatten(), data.train, data.test, device, norm, world);
  if (trained === null || randomInit === null || rawPixels === null) return null;
  const result = {
    trained,
    randomInit,
    rawPixels,
    split: data.testSplit,
    seconds: (performance.now() - t0) / 1000,
  };
  await folder.writeJson("eval.json", result);
  return result;
}

export function printEvaluation(ev: FinalEvaluation): void {
  const row = (name: string, e: EncoderEval) =>
    `| ${name.padEnd(16)} | ${e.knn20.toFixed(2).padStart(6)} | ${
      e.knn200.toFixed(2).padStart(7)
    } | ` +
    `${e.probeTop1.toFixed(2).padStart(11)} | ${e.probeTop5.toFixed(2).padStart(11)} |`;
  console.log("\n| encoder          | kNN-20 | kNN-200 | probe top-1 | probe top-5 |");
  console.log("| ---------------- | ------ | ------- | ----------- | ----------- |");
  console.log(row("BYOL (this run)", ev.trained));
  console.log(row("random init", ev.randomInit));
  console.log(row("raw pixels", ev.rawPixels));
  const p = ev.trained.probe;
  console.log(
    `(accuracy in %, ${ev.split} split; kNN cosine T=0.1 over the training split; probe: ${p.optimizer} ` +
      `${p.epochs} epochs on standardised frozen features)`,
  );
}
