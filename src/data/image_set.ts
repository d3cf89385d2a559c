/**
 * In-memory image datasets as plain uint8 arrays. Conversion to tensors
 * happens elsewhere; keeping this layer free of libtorch lets the readers be
 * tested (and run in workers) without the native library.
 */

/** A set of equally sized images, NCHW uint8, with optional integer labels. */
export interface ImageSet {
  /** Number of images (N). */
  length: number;
  /** Channels per image (C): 1 gray, 3 RGB, 4 RGBA. */
  channels: number;
  /** Image height in pixels (H). */
  height: number;
  /** Image width in pixels (W). */
  width: number;
  /** `length * channels * height * width` bytes, NCHW, row-major. */
  images: Uint8Array;
  /** One class index per image, or null for unlabeled data. */
  labels: Int32Array | null;
  /** Class names indexed by label, or null when unknown. */
  classes: string[] | null;
  /** Where the data came from (a path), for messages and logs. */
  source: string;
  /**
   * Files the loader left out because they did not decode (imageFolder,
   * csvImages): the path (for a CSV, its line and the path) and why.
   */
  skipped?: { path: string; reason: string }[];
  /**
   * The shorter side of the source images before resizing, min and max over
   * the decoded files (imageFolder, csvImages).
   */
  sourceSides?: { min: number; max: number };
}

/** Bytes per image: channels * height * width. */
export function imageBytes(set: ImageSet): number {
  return set.channels * set.height * set.width;
}

/** The i-th image as a view (C*H*W bytes, CHW), not a copy. */
export function imageAt(set: ImageSet, i: number): Uint8Array {
  if (!Number.isInteger(i) || i < 0 || i >= set.length) {
    throw new RangeError(`image index ${i} out of range [0, ${set.length})`);
  }
  const n = imageBytes(set);
  return set.images.subarray(i * n, (i + 1) * n);
}

/** The i-th label, or null when the set is unlabeled. */
export function labelAt(set: ImageSet, i: number): number | null {
  if (!Number.isInteger(i) || i < 0 || i >= set.length) {
    throw new RangeError(`label index ${i} out of range [0, ${set.length})`);
  }
  return set.labels === null ? null : set.labels[i];
}

/**
 * The first `n` images (all of them when `n >= length`). Images and labels
 * are views into the original arrays, so this is free for large sets.
 */
export function subset(set: ImageSet, n: number): ImageSet {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`subset size must be a non-negative integer, got ${n}`);
  }
  const m = Math.min(n, set.length);
  return {
    ...set,
    length: m,
    images: set.images.subarray(0, m * imageBytes(set)),
    labels: set.labels === null ? null : set.labels.subarray(0, m),
  };
}

/**
 * Images `start` to `end` (exclusive), as views into the original arrays like
 * subset().
 */
export function sliceSet(set: ImageSet, start: number, end: number): ImageSet {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
    throw new RangeError(`bad image range [${start}, ${end})`);
  }
  const a = Math.min(start, set.length), b = Math.min(end, set.length);
  const bytes = imageBytes(set);
  return {
    ...set,
    length: b - a,
    images: set.images.subarray(a * bytes, b * bytes),
    labels: set.labels === null ? null : set.labels.subarray(a, b),
  };
}

/** Images per class label (index = label); empty for unlabeled sets. */
export function labelCounts(set: ImageSet): number[] {
  const counts: number[] = [];
  if (set.labels === null) return counts;
  const k = set.classes?.length ?? 0;
  for (let c = 0; c < k; c++) counts.push(0);
  for (const l of set.labels) {
    while (counts.length <= l) counts.push(0);
    counts[l]++;
  }
  return counts;
}
