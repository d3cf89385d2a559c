// The loader's images/s measured alone, and the training step's beside it
// (issue 25: the loader must outrun what the step consumes). Over a file laid
// out like a decode cache's images (a 4096-byte head, then N uint8 C x S x S
// images, NCHW), written into the suite's temp folder on first use and mapped
// with mapImages (src/data/mapped_set.ts), as the trainer maps its cache.
//
// Modes (one process each, so each has its own peak memory):
//   "mapped": ImageLoader over the mapped set: on the CPU in place (the
//     default) and through the host stager (placement "host": gather into the
//     reused buffer + the batch's copy); with CUDA also on the GPU, staged
//     (pinned buffer + copy stream) and "auto" (uploaded once when it fits);
//   "memory": the same file read into memory (Deno.readFile, the path before
//     issue 25) under ImageLoader on the CPU;
//   "step": the trainer's step object (createStepRunner over buildRun) for
//     the default recipe on a folder of colour images (fashion-mnist preset's
//     convnet, paper augmentation, 96 px views from 112 px stored images,
//     batch 64, precision 32) over the mapped set, on the CPU and, with CUDA,
//     on the GPU with placement auto and host.
// The page cache is warmed first in every mode: the file is read once
// through (a cold cache needs root to drop).
import { cuda } from "../../mod.ts";
import { ImageLoader, type Placement, Xoshiro128 } from "../../src/data/loader.ts";
import type { ImageSet } from "../../src/data/image_set.ts";
import { mapImages } from "../../src/data/mapped_set.ts";
import { resolveConfig } from "../../src/train/config.ts";
import { createStepRunner, WARMUP_STEPS } from "../../src/train/graph_step.ts";
import { buildRun, configureRuntime, disposeRun } from "../../src/train/run.ts";
import { median } from "../lib.ts";
import type { CaseParams } from "./params.ts";

/** Bytes before the images, as in a decode cache (decode_cache.ts: format 2's head). */
export const HEAD_BYTES = 4096;
/** Classes of the synthetic labels (a labelled folder: the loader gathers labels too). */
const CLASSES = 10;

/** One loader row: images/s into the batch's device, median over the timed epochs. */
export interface LoaderSpeed {
  device: string;
  placement: Placement;
  /** Where the loader said the images are (its `where`). */
  where: string;
  batch: number;
  batchesPerEpoch: number;
  /** Median images/s over the timed epochs. */
  ips: number;
  /** Each timed epoch, ms. */
  epochsMs: number[];
  /** The first (untimed) epoch, ms: page-table faults of a fresh mapping, allocator warm-up. */
  firstEpochMs: number;
}

/** The step row: images/s the training step consumes (batch / median step time). */
export interface StepSpeed {
  device: string;
  placement: string;
  where: string;
  graphed: boolean;
  batch: number;
  imageSize: number;
  storedSize: number;
  /** Median ms per step. */
  ms: number;
  ips: number;
  /** Each timed block's ms per step. */
  all: number[];
  stepsPerBlock: number;
}

/** Writes the file unless it is there with the right size: the head (zeros), then the images. */
export async function ensureImageFile(path: string, n: number, side: number): Promise<void> {
  const bytes = HEAD_BYTES + n * 3 * side * side;
  try {
    if ((await Deno.stat(path)).size === bytes) return;
  } catch {
    // not written yet
  }
  // 8 MiB of pseudo-random bytes, written over and over from varying offsets.
  const pattern = new Uint8Array(8 << 20);
  const rng = new Xoshiro128(25);
  const words = new Uint32Array(pattern.buffer);
  for (let i = 0; i < words.length; i++) words[i] = rng.nextU32();
  using f = await Deno.open(path, { write: true, create: true, truncate: true });
  await writeAll(f, new Uint8Array(HEAD_BYTES));
  let left = bytes - HEAD_BYTES;
  for (let k = 0; left > 0; k++) {
    const from = (k * 4099) % (1 << 20);
    const chunk = pattern.subarray(from, from + Math.min(left, pattern.length - from));
    await writeAll(f, chunk);
    left -= chunk.length;
  }
}

async function writeAll(f: Deno.FsFile, b: Uint8Array): Promise<void> {
  for (let off = 0; off < b.length;) off += await f.write(b.subarray(off));
}

/** Reads the whole file once (into a small buffer, thrown away): the page cache holds it after. */
export async function warmPageCache(path: string): Promise<number> {
  const t0 = performance.now();
  using f = await Deno.open(path, { read: true });
  const buf = new Uint8Array(16 << 20);
  while ((await f.read(buf)) !== null) {
    // reading is the point
  }
  return performance.now() - t0;
}

function labels(n: number): Int32Array {
  const rng = new Xoshiro128(7);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.below(CLASSES);
  return out;
}

/** The file's images as a labelled set: `images` mapped (mapImages) or read into memory. */
function imageSet(path: string, n: number, side: number, images: Uint8Array): ImageSet {
  return {
    length: n,
    channels: 3,
    height: side,
    width: side,
    images,
    labels: labels(n),
    classes: Array.from({ length: CLASSES }, (_, i) => `class${i}`),
    source: path,
  };
}

const mappedSet = (path: string, n: number, side: number) =>
  imageSet(path, n, side, mapImages(path, HEAD_BYTES, [n, 3, side, side]));

/** The loader over `set` on `device`: every batch taken and freed, epoch by epoch. */
function loaderSpeed(
  set: ImageSet,
  device: string,
  placement: Placement,
  p: CaseParams,
): LoaderSpeed {
  const batch = p.batch as number;
  using loader = new ImageLoader(set, { batchSize: batch, device, placement, seed: 0 });
  const gpu = device !== "cpu";
  const epoch = (e: number) => {
    const t0 = performance.now();
    for (const b of loader.epoch(e)) {
      b.images.dispose();
      b.labels?.dispose();
    }
    if (gpu) cuda.synchronize(device);
    return performance.now() - t0;
  };
  const firstEpochMs = epoch(0);
  for (let i = 1; i < p.warmup; i++) epoch(i);
  const all: number[] = [];
  const start = performance.now();
  for (let i = 0; i < p.reps; i++) {
    all.push(epoch(p.warmup + i));
    if (all.length >= 2 && performance.now() - start > p.budgetMs) break;
  }
  const images = loader.stepsPerEpoch * batch;
  return {
    device,
    placement,
    where: loader.where,
    batch,
    batchesPerEpoch: loader.stepsPerEpoch,
    ips: images / (median(all) / 1000),
    epochsMs: all,
    firstEpochMs,
  };
}

/** The trainer's step for the default recipe on colour images, over `set`. */
function stepSpeed(
  set: ImageSet,
  device: string,
  placement: Placement,
  p: CaseParams,
): StepSpeed {
  const gpu = device !== "cpu";
  const cfg = resolveConfig(undefined, {
    imageSize: p.view as number,
    storedSize: set.height,
    augment: "paper",
    channels: 3,
    batchSize: p.stepBatch as number,
    epochs: 1,
    device,
    precision: "32",
    knnEvery: 0,
    evaluate: false,
    threads: p.threads,
  });
  configureRuntime(cfg, device);
  const data = { description: set.source, train: set, test: null, testSplit: "test" as const };
  const loader = new ImageLoader(set, {
    batchSize: cfg.batchSize,
    seed: cfg.seed,
    device,
    placement,
  });
  const run = buildRun(cfg, data, device, { loader });
  const stepper = createStepRunner(run);
  try {
    // A GPU step warms up as the trainer's (a captured one is captured after
    // WARMUP_STEPS eager steps); an eager CPU step needs one.
    let k = 0;
    for (const warm = gpu ? WARMUP_STEPS + 2 : 1; k < warm; k++) stepper.run(k, true);
    // On the CPU each step is timed alone (the loss read is its end); on a GPU
    // blocks of steps end in one loss read, which waits for the device.
    const per = gpu ? (p.gpuStepsPerBlock as number) : 1;
    const all: number[] = [];
    const start = performance.now();
    for (let i = 0; i < (p.stepBlocks as number); i++) {
      const t0 = performance.now();
      for (let j = 0; j < per; j++, k++) stepper.run(k, j === per - 1);
      all.push((performance.now() - t0) / per);
      if (all.length >= 2 && performance.now() - start > p.budgetMs) break;
    }
    const ms = median(all);
    return {
      device,
      placement,
      where: run.loader.where,
      graphed: stepper.graphed,
      batch: cfg.batchSize,
      imageSize: cfg.imageSize,
      storedSize: set.height,
      ms,
      ips: cfg.batchSize / (ms / 1000),
      all,
      stepsPerBlock: per,
    };
  } finally {
    stepper[Symbol.dispose]();
    disposeRun(run);
  }
}

export async function run(p: CaseParams): Promise<Record<string, unknown>> {
  const path = p.path as string, n = p.n as number, side = p.side as number;
  await ensureImageFile(path, n, side);
  const warmMs = await warmPageCache(path);
  const gpu = cuda.isAvailable();
  const mode = p.mode as "mapped" | "memory" | "step";
  if (mode === "mapped") {
    const set = mappedSet(path, n, side);
    const rows = [loaderSpeed(set, "cpu", "device", p), loaderSpeed(set, "cpu", "host", p)];
    if (gpu) rows.push(loaderSpeed(set, "cuda", "host", p), loaderSpeed(set, "cuda", "auto", p));
    return { mode, warmMs, cuda: gpu, rows };
  }
  if (mode === "memory") {
    const t0 = performance.now();
    const file = await Deno.readFile(path);
    const readMs = performance.now() - t0;
    const set = imageSet(path, n, side, file.subarray(HEAD_BYTES));
    const rows = [loaderSpeed(set, "cpu", "device", p)];
    return { mode, warmMs, readMs, cuda: gpu, rows };
  }
  const set = mappedSet(path, n, side);
  const rows = [stepSpeed(set, "cpu", "auto", p)];
  if (gpu) rows.push(stepSpeed(set, "cuda", "auto", p), stepSpeed(set, "cuda", "host", p));
  return { mode, warmMs, cuda: gpu, rows };
}
