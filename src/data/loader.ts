/**
 * ImageLoader: batches of a set's uint8 images taken by index. Where the
 * images live (`placement`): on the device, uploaded once (a set in memory, or
 * a mapped decode cache that fits), batches by index_select there; or on the
 * host (a mapped cache larger than the device), each batch gathered there and
 * sent ahead of use (stager.ts). On the CPU a mapped cache is used in place,
 * and the next batch's rows are read ahead (madvise). The epoch order depends
 * only on (seed, epoch), through a small JS PRNG, so a run resumed at (epoch,
 * step) sees the same batches, wherever the images live.
 */
import { tensor } from "../../ffi/creation.ts";
import type { Device } from "../../ffi/device.ts";
import { adviseRows } from "../../ffi/files.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import { imageBytes, type ImageSet } from "./image_set.ts";
import { imagesTensor, mappedImages } from "./mapped_set.ts";
import { deviceFreeBytes, fitsOnDevice } from "./placement.ts";
import { BatchStager } from "./stager.ts";

/**
 * Where a loader keeps the images: "device" (uploaded once), "host" (gathered
 * per batch and sent ahead), or "auto": the device unless the set is a mapped
 * cache larger than half the device's free memory.
 */
export type Placement = "auto" | "device" | "host";

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
  /** Where the images live (default "auto"); see Placement. */
  placement?: Placement;
  /**
   * Free device memory in bytes for "auto" on a GPU (default: the device's,
   * placement.ts); null (unknown): a mapped set stays on the host, a set in
   * memory goes to the device.
   */
  deviceFreeBytes?: number | null;
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
  /**
   * All images, uint8 (N, C, H, W), kept outside every scope: on the device,
   * or on the host with `placement` "host" (a mapped cache: the mapping).
   */
  readonly images: Tensor;
  /** Labels (int64), always on the device. */
  readonly labels: Tensor | null;
  readonly shard: { rank: number; worldSize: number };
  /** Where the images are: "device" or "host" (batches gathered and sent ahead). */
  readonly placement: "device" | "host";
  /** Whether the images are a mapped decode cache (on the CPU: used in place). */
  readonly mapped: boolean;
  /** One line: where the images are and why, for the run's log. */
  readonly where: string;
  #stager: BatchStager | null = null;

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
    const device = String(this.device);
    const mapped = mappedImages(set);
    this.mapped = mapped !== null;
    const bytes = set.length * imageBytes(set);
    const mib = `${(bytes / 2 ** 20).toFixed(1)} MiB uint8`;
    let placement = opts.placement ?? "auto";
    if (!["auto", "device", "host"].includes(placement)) {
      throw new RangeError(
        `placement must be "auto", "device" or "host", got ${String(placement)}`,
      );
    }
    if (placement === "auto") {
      const free = opts.deviceFreeBytes !== undefined
        ? opts.deviceFreeBytes
        : deviceFreeBytes(device);
      placement = !this.mapped || fitsOnDevice(bytes, device, free) ? "device" : "host";
      this.where = device === "cpu"
        ? (this.mapped ? `the training images mapped from their cache (${mib})` : "")
        : placement === "device"
        ? `the training images on the GPU (${mib})`
        : `the training images on the host (${mib} mapped, ${
          free === null ? "the GPU's free memory unknown" : `more than half the GPU's free memory`
        }), each batch sent a step ahead`;
    } else {
      this.where = `the training images on the ${placement} (${mib}, placement ${placement})`;
    }
    this.placement = placement;
    try {
      if (placement === "device") {
        this.images = (mapped !== null && device === "cpu" ? mapped : imagesTensor(set, device))
          .keep();
        if (mapped !== null && device !== "cpu") mapped.dispose();
      } else {
        this.images = (mapped ?? imagesTensor(set, "cpu")).keep();
        this.#stager = new BatchStager(this.images, device);
      }
    } catch (e) {
      mapped?.dispose();
      throw e;
    }
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

  // The orders of the two epochs last asked for: a step-by-step caller (the
  // trainer) shuffles once per epoch, and reading ahead across an epoch's end
  // asks for the next one while the current one is still in use.
  #cached: { epoch: number; order: Int32Array }[] = [];

  #order(epoch: number): Int32Array {
    let hit = this.#cached.find((c) => c.epoch === epoch);
    if (hit === undefined) {
      hit = { epoch, order: epochOrder(this.set.length, this.seed, epoch, this.shuffle) };
      this.#cached = [hit, ...this.#cached.slice(0, 1)];
    }
    return hit.order;
  }

  #indices(order: Int32Array, step: number): Int32Array {
    const start = step * this.batchSize;
    return order.subarray(start, Math.min(start + this.batchSize, order.length));
  }

  /** This rank's share of a global batch, and where it starts in it. */
  #share(global: Int32Array): { indices: Int32Array; offset: number } {
    const { rank, worldSize } = this.shard;
    if (worldSize === 1) return { indices: global, offset: 0 };
    const per = Math.floor(global.length / worldSize);
    return { indices: global.subarray(rank * per, (rank + 1) * per), offset: rank * per };
  }

  /** Batch `step` of epoch `epoch` (new tensors: free them, or take them inside a tidy). */
  batch(epoch: number, step: number): Batch {
    return this.#batch(this.batchIndices(epoch, step), epoch, step);
  }

  #batch(global: Int32Array, epoch: number, step: number): Batch {
    const { indices, offset } = this.#share(global);
    using idx = tensor(indices, { dtype: "int64", device: this.device });
    const images = this.#stager !== null
      ? this.#stager.take(`${epoch}:${step}`, indices)
      : this.images.device === idx.device
      ? this.images.indexSelect(0, idx)
      : this.#gather(indices);
    const batch: Batch = {
      images,
      labels: this.labels === null ? null : this.labels.indexSelect(0, idx),
      indices,
      offset,
      globalSize: global.length,
      epoch,
      step,
    };
    this.#ahead(epoch, step);
    return batch;
  }

  /** Rows `indices` of images that live elsewhere than the labels (a mapping on the host). */
  #gather(indices: Int32Array): Tensor {
    using idx = tensor(indices, { dtype: "int64", device: this.images.device });
    return this.images.indexSelect(0, idx);
  }

  /**
   * After batch (epoch, step): the next batch in order is staged (host
   * placement), and the rows of the one after it (of the next, on a mapped
   * CPU set) are read ahead by the kernel, so page faults rarely wait on disk.
   */
  #ahead(epoch: number, step: number): void {
    if (this.#stager === null && !this.mapped) return;
    const next = this.#after(epoch, step);
    if (next === null) return;
    if (this.#stager !== null) {
      const { indices } = this.#share(this.batchIndices(next.epoch, next.step));
      this.#stager.stage(`${next.epoch}:${next.step}`, indices);
      if (!this.mapped) return;
      const later = this.#after(next.epoch, next.step);
      if (later === null) return;
      this.#stager.advise(this.#share(this.batchIndices(later.epoch, later.step)).indices);
    } else {
      adviseRows(
        this.images,
        this.#share(this.batchIndices(next.epoch, next.step)).indices,
        "willneed",
      );
    }
  }

  #after(epoch: number, step: number): { epoch: number; step: number } | null {
    if (this.stepsPerEpoch === 0) return null;
    return step + 1 < this.stepsPerEpoch
      ? { epoch, step: step + 1 }
      : { epoch: epoch + 1, step: 0 };
  }

  /** The batches of one epoch, from `startStep` on (to resume mid-epoch). */
  *epoch(epoch: number, startStep = 0): Generator<Batch> {
    for (let step = startStep; step < this.stepsPerEpoch; step++) {
      yield this.#batch(this.batchIndices(epoch, step), epoch, step);
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

  /** Frees the device copies of the images and labels (a mapping stays for the process). */
  dispose(): void {
    this.#stager?.dispose();
    this.images[Symbol.dispose]();
    this.labels?.[Symbol.dispose]();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
