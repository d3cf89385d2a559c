// The end of a run: kNN and linear-probe accuracy of the trained encoder next
// to the two floors BYOL has to beat, a random-init encoder of the same
// architecture and seed and the raw (normalised) pixels, printed as a table
// and written to eval.json; and a picture of the test features (plots/embedding.{svg,png}).
import { join } from "node:path";
import { manualSeed } from "../../ffi/runtime.ts";
import { writeEmbeddingPlot } from "../report/embedding.ts";
import { Flatten } from "../nn/layers.ts";
import { buildEncoder } from "./encoders.ts";
import { type EncoderEval, evaluateEncoder } from "./monitor.ts";
import type { Run } from "./run.ts";
import type { RunFolder } from "./run_folder.ts";
import type { Callback, TrainContext, TrainEnd } from "./callbacks.ts";
import type { MethodName } from "./method_registry.ts";
import { methodTitle } from "./methods.ts";

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
  let embedding: { features: Float32Array; dim: number; labels: Int32Array } | null = null;
  const trained = evaluateEncoder(run.method.encoder, data.train, data.test, device, norm, world, {
    onlineProbe: run.probe,
    testFeatures: (f, labels) => {
      using f32 = f.to({ dtype: "float32", device: "cpu" });
      using c = f32.contiguous();
      // int64 labels read back as BigInt: as int32 numbers.
      using l = labels.to({ dtype: "int32", device: "cpu" });
      using lc = l.contiguous();
      embedding = {
        features: c.toTypedArray() as Float32Array,
        dim: f.size(1),
        labels: Int32Array.from(lc.toTypedArray() as Int32Array),
      };
    },
  });
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
  if (embedding !== null && folder.writer) {
    // The test features' 2-D picture (UMAP over a stratified sample), coloured by label.
    const e = embedding as { features: Float32Array; dim: number; labels: Int32Array };
    try {
      await writeEmbeddingPlot(join(folder.dir, "plots"), e.features, e.labels, {
        dim: e.dim,
        seed: cfg.seed,
        title: `${methodTitle(cfg.method)} features of the ${data.testSplit} split (UMAP)`,
        ...(data.test.classes ? { classNames: data.test.classes } : {}),
      });
    } catch (err) {
      console.error(`warning: embedding picture not written: ${(err as Error).message}`);
    }
  }
  return result;
}

/**
 * The final evaluation as a subscriber of the loop: after the last step of a
 * run that was not interrupted (and has `--evaluate` and a labelled split),
 * every rank evaluates (rank 0 scores and writes eval.json and the embedding
 * picture); `result` holds rank 0's.
 */
export class FinalEvaluationCallback implements Callback {
  result: FinalEvaluation | null = null;
  #ctx: TrainContext | null = null;
  readonly #say: (line: string) => void;

  constructor(say: (line: string) => void = () => {}) {
    this.#say = say;
  }

  onTrainStart(ctx: TrainContext): void {
    this.#ctx = ctx;
  }

  async onTrainEnd(end: TrainEnd): Promise<void> {
    const ctx = this.#ctx;
    if (ctx === null || end.interrupted) return;
    if (!ctx.run.cfg.evaluate || ctx.run.data.test === null) return;
    this.#say("evaluating the trained encoder and a random-init one (kNN, linear probe) ...");
    this.result = await finalEvaluation(ctx.run, ctx.folder);
  }
}

export function printEvaluation(
  ev: FinalEvaluation,
  method: MethodName = "byol",
  onlineProbe: "views" | "images" | "off" = "images",
): void {
  const names = [`${methodTitle(method)} (this run)`, "random init", "raw pixels"];
  const w = Math.max(7, ...names.map((n) => n.length));
  const row = (name: string, e: EncoderEval) =>
    `| ${name.padEnd(w)} | ${e.knn20.toFixed(2).padStart(6)} | ${
      e.knn200.toFixed(2).padStart(7)
    } | ` +
    `${e.probeTop1.toFixed(2).padStart(11)} | ${e.probeTop5.toFixed(2).padStart(11)} |`;
  console.log(`\n| ${"encoder".padEnd(w)} | kNN-20 | kNN-200 | probe top-1 | probe top-5 |`);
  console.log(`| ${"-".repeat(w)} | ------ | ------- | ----------- | ----------- |`);
  console.log(row(names[0], ev.trained));
  console.log(row(names[1], ev.randomInit));
  console.log(row(names[2], ev.rawPixels));
  const p = ev.trained.probe;
  console.log(
    `(accuracy in %, ${ev.split} split; kNN cosine T=0.1 over the training split; probe: ${p.optimizer} ` +
      `${p.epochs} epochs on standardised frozen features)`,
  );
  if (ev.trained.onlineProbeTop1 !== undefined) {
    console.log(
      `online probe (trained during pretraining on the detached features of the ${
        onlineProbe === "images" ? "unaugmented images" : "augmented views"
      }): top-1 ` +
        `${ev.trained.onlineProbeTop1.toFixed(2)}%`,
    );
  }
}
