/**
 * ImageLoader: the uint8 images uploaded to the device once, batches taken by
 * index_select. The epoch order depends only on (seed, epoch), through a small
 * JS PRNG, so a run resumed at (epoch, step) sees the same batches.
 */
import { tensor } from "../../ffi/creation.ts";
import type { Device } from "../../ffi/device.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import type { ImageSet } from "./image_set.ts";

export interface LoaderOptions {
  batchSize: number;
  /** Shuffle every epoch (default true). */
  shuffle?: boolean;
  /** Seed of the shuffle (default 0). */
  seed?: number;
  /** Drop the last incomplete batch (default true: BYOL's BatchNorm wants full batches). */
  dropLast?: boolean;
  device?: Device | string;
  /**
   * This process's share of every batch: `batchSize` is the global batch, and
   * rank r of W takes its rows [r * B / W, (r + 1) * B / W). B must be a
   * multiple of W.
   */
  shard?: { rank: number; worldSize: number };
}

export interface Batch {
  /** uint8 (B, C, H, W) on the loader's device. */
  images: Tensor;
  /** int64 (B,) or null for unlabeled sets. */
  labels: Tensor | null;
  /** Dataset indices of the batch's images (this shard's, with `shard`). */
  indices: Int32Array;
  /** The place of the first image in the global batch (0 without `shard`). */
  offset: number;
  /** The global batch's size (the batch's own without `shard`). */
  globalSize: number;
  epoch: number;
  step: number;
}

/** splitmix32 finaliser: spreads (seed, epoch) into well-mixed 32-bit words. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

/** xoshiro128**: a fast 32-bit PRNG with a 128-bit state. */
export class Xoshiro128 {
  #s: Uint32Array;

  constructor(seed: number, stream = 0) {
    const s = new Uint32Array(4);
    let x = mix32((seed >>> 0) ^ 0x9e3779b9) ^ mix32(Math.floor(seed / 2 ** 32) + 0x7f4a7c15);
    x ^= mix32((stream >>> 0) + 0x85ebca6b);
    for (let i = 0; i < 4; i++) {
      x = mix32(x + 0x9e3779b9 + i);
      s[i] = x;
    }
    if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
    this.#s = s;
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.#s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** A uniform integer in [0, n), without modulo bias (n <= 2^32). */
  below(n: number): number {
    const limit = 2 ** 32 - (2 ** 32 % n);
    let v = this.nextU32();
    while (v >= limit) v = this.nextU32();
    return v % n;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The order of epoch `epoch`: a Fisher-Yates shuffle seeded by (seed, epoch), or 0..n-1. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle = true): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (!shuffle) return order;
  const rng = new Xoshiro128(seed, epoch);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

export class ImageLoader implements Disposable {
  readonly set: ImageSet;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly device: Device | string;
  /** All images, uint8 (N, C, H, W), on the device; kept outside every scope. */
  readonly images: Tensor;
  readonly labels: Tensor | null;
  readonly shard: { rank: number; worldSize: number };

  constructor(set: ImageSet, opts: LoaderOptions) {
    const { batchSize } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    }
    this.set = set;
    this.batchSize = batchSize;
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? true;
    this.device = opts.device ?? "cpu";
    const shard = opts.shard ?? { rank: 0, worldSize: 1 };
    if (
      !Number.isInteger(shard.worldSize) || shard.worldSize < 1 || !Number.isInteger(shard.rank) ||
      shard.rank < 0 || shard.rank >= shard.worldSize
    ) {
      throw new RangeError(`shard rank ${shard.rank} is outside 0..${shard.worldSize - 1}`);
    }
    if (batchSize % shard.worldSize !== 0) {
      throw new RangeError(
        `batchSize ${batchSize} (the global batch) is not a multiple of the ${shard.worldSize} ` +
          "shards; give a multiple",
      );
    }
    this.shard = { ...shard };
    if (this.dropLast && set.length < batchSize) {
      throw new RangeError(
        `${set.source}: ${set.length} images make no full batch of ${batchSize} (dropLast)`,
      );
    }
    const shape = [set.length, set.channels, set.height, set.width];
    this.images = tensor(set.images, { shape, device: this.device }).keep();
    this.labels = set.labels === null
      ? null
      : tensor(set.labels, { dtype: "int64", device: this.device }).keep();
  }

  get length(): number {
    return this.set.length;
  }

  /** Batches per epoch. */
  get stepsPerEpoch(): number {
    const n = this.set.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The dataset indices of batch `step` of epoch `epoch`. */
  batchIndices(epoch: number, step: number): Int32Array {
    return this.#indices(this.#order(epoch), step);
  }

  /** Every dataset index of epoch `epoch` in the order its batches take them. */
  epochOrder(epoch: number): Int32Array {
    return this.#order(epoch);
  }

  // The order of the epoch last asked for: a step-by-step caller (the
  // trainer) shuffles once per epoch, not once per batch.
  #cached: { epoch: number; order: Int32Array } | null = null;

  #order(epoch: number): Int32Array {
    if (this.#cached?.epoch !== epoch) {
      this.#cached = { epoch, order: epochOrder(this.set.length, this.seed, epoch, this.shuffle) };
    }
    return this.#cached.order;
  }

  #indices(order: Int32Array, step: number): Int32Array {
    const start = step * this.batchSize;
    return order.subarray(start, Math.min(start + this.batchSize, order.length));
  }

  /** Batch `step` of epoch `epoch` (new tensors: free them, or take them inside a tidy). */
  batch(epoch: number, step: number): Batch {
    return this.#batch(this.batchIndices(epoch, step), epoch, step);
  }

  #batch(global: Int32Array, epoch: number, step: number): Batch {
    const { rank, worldSize } = this.shard;
    const per = global.length / worldSize;
    const offset = worldSize === 1 ? 0 : rank * Math.floor(per);
    const indices = worldSize === 1 ? global : global.subarray(offset, offset + Math.floor(per));
    using idx = tensor(indices, { dtype: "int64", device: this.device });
    return {
      images: this.images.indexSelect(0, idx),
      labels: this.labels === null ? null : this.labels.indexSelect(0, idx),
      indices,
      offset,
      globalSize: global.length,
      epoch,
      step,
    };
  }

  /** The batches of one epoch, from `startStep` on (to resume mid-epoch). */
  *epoch(epoch: number, startStep = 0): Generator<Batch> {
    const order = epochOrder(this.set.length, this.seed, epoch, this.shuffle);
    for (let step = startStep; step < this.stepsPerEpoch; step++) {
      yield this.#batch(this.#indices(order, step), epoch, step);
    }
  }

  /** Batches epoch after epoch, from (`epoch`, `step`) on, until `epochs` (default forever). */
  *batches(opts: { epoch?: number; step?: number; epochs?: number } = {}): Generator<Batch> {
    const end = opts.epochs ?? Infinity;
    let step = opts.step ?? 0;
    for (let e = opts.epoch ?? 0; e < end; e++) {
      yield* this.epoch(e, step);
      step = 0;
    }
  }

  /** Frees the device copies of the images and labels. */
  dispose(): void {
    this.images[Symbol.dispose]();
    this.labels?.[Symbol.dispose]();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
