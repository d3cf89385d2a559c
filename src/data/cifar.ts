/**
 * CIFAR-10 / CIFAR-100 readers for the "binary version" archives from
 * https://www.cs.toronto.edu/~kriz/cifar.html (cifar-10-binary.tar.gz,
 * cifar-100-binary.tar.gz), already extracted.
 */
import { join } from "node:path";
import { DataError, describeError, readFileChecked } from "./errors.ts";
import type { ImageSet } from "./image_set.ts";

const PIXELS = 3 * 32 * 32;

/** Options for {@link cifar}. */
export interface CifarOptions {
  /** 10 or 100; default: whichever the folder holds (CIFAR-10 when both). */
  variant?: 10 | 100;
  /** Default "train". */
  split?: "train" | "test";
  /** CIFAR-100 only: the 100 fine classes (default) or the 20 superclasses. */
  labels?: "fine" | "coarse";
}

const DOWNLOAD_HINT =
  "download the binary version from https://www.cs.toronto.edu/~kriz/cifar.html " +
  "and extract it";

function files(variant: 10 | 100, split: "train" | "test"): string[] {
  if (variant === 100) return [split === "train" ? "train.bin" : "test.bin"];
  return split === "train" ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ["test_batch.bin"];
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await Deno.stat(p)).isFile;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw new DataError(`${p}: cannot access (${describeError(err)})`, { cause: err });
  }
}

/** Finds the folder holding the variant's .bin files: `dir` or its known sub-folder. */
async function locate(
  dir: string,
  variant: 10 | 100 | undefined,
): Promise<{ folder: string; variant: 10 | 100 }> {
  const variants: (10 | 100)[] = variant ? [variant] : [10, 100];
  for (const v of variants) {
    const sub = v === 10 ? "cifar-10-batches-bin" : "cifar-100-binary";
    for (const folder of [dir, join(dir, sub)]) {
      // Probe with a file both splits' layouts share per variant.
      if (await isFile(join(folder, v === 10 ? "test_batch.bin" : "test.bin"))) {
        return { folder, variant: v };
      }
      if (await isFile(join(folder, v === 10 ? "data_batch_1.bin" : "train.bin"))) {
        return { folder, variant: v };
      }
    }
  }
  const what = variant ? `CIFAR-${variant}` : "CIFAR-10 or CIFAR-100";
  const expect = variant === 100
    ? "train.bin/test.bin here or in cifar-100-binary/"
    : variant === 10
    ? "data_batch_1..5.bin/test_batch.bin here or in cifar-10-batches-bin/"
    : "data_batch_1..5.bin/test_batch.bin (CIFAR-10) or train.bin/test.bin (CIFAR-100), " +
      "here or in cifar-10-batches-bin/ or cifar-100-binary/";
  throw new DataError(
    `${dir}: no ${what} binary files found (expected ${expect}); ${DOWNLOAD_HINT}`,
  );
}

/** One class name per non-empty line; null when the file is absent. */
async function readNames(path: string): Promise<string[] | null> {
  if (!(await isFile(path))) return null;
  const text = new TextDecoder().decode(await readFileChecked(path, "class names file"));
  return text.split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * Reads CIFAR-10 (records: 1 label byte + 3072 pixel bytes) or CIFAR-100
 * (records: coarse label byte, fine label byte, 3072 pixel bytes). Pixels are
 * stored as 1024 R, 1024 G, 1024 B bytes, each 32 rows of 32: already CHW.
 * `dir` is the folder with the .bin files or its parent (holding
 * `cifar-10-batches-bin/` or `cifar-100-binary/`). Class names come from
 * batches.meta.txt / fine_label_names.txt / coarse_label_names.txt when present.
 */
export async function cifar(dir: string, options: CifarOptions = {}): Promise<ImageSet> {
  const split = options.split ?? "train";
  if (split !== "train" && split !== "test") {
    throw new DataError(`cifar: split must be "train" or "test", got ${String(split)}`);
  }
  if (options.variant !== undefined && options.variant !== 10 && options.variant !== 100) {
    throw new DataError(`cifar: variant must be 10 or 100, got ${String(options.variant)}`);
  }
  const labelKind = options.labels ?? "fine";
  if (labelKind !== "fine" && labelKind !== "coarse") {
    throw new DataError(`cifar: labels must be "fine" or "coarse", got ${String(labelKind)}`);
  }
  const { folder, variant } = await locate(dir, options.variant);
  if (variant === 10 && options.labels === "coarse") {
    throw new DataError(`${folder}: CIFAR-10 has no coarse labels; use labels: "fine" or omit it`);
  }
  const labelBytes = variant === 10 ? 1 : 2;
  const record = labelBytes + PIXELS;
  const labelOffset = variant === 10 ? 0 : (labelKind === "coarse" ? 0 : 1);
  const numClasses = variant === 10 ? 10 : (labelKind === "coarse" ? 20 : 100);

  const paths = files(variant, split).map((f) => join(folder, f));
  const buffers: Uint8Array[] = [];
  for (const p of paths) {
    const buf = await readFileChecked(p, `CIFAR-${variant} ${split} batch`, DOWNLOAD_HINT);
    if (buf.length === 0 || buf.length % record !== 0) {
      const n = Math.floor(buf.length / record);
      throw new DataError(
        `${p}: size ${buf.length} bytes is not a positive multiple of the CIFAR-${variant} ` +
          `record size ${record} (${labelBytes} label byte(s) + ${PIXELS} pixels; ` +
          `${n} whole records, ${buf.length - n * record} bytes left over); the file is ` +
          `truncated or not a CIFAR-${variant} binary batch (the python/matlab versions ` +
          `are not supported), ${DOWNLOAD_HINT}`,
      );
    }
    buffers.push(buf);
  }
  const length = buffers.reduce((a, b) => a + b.length / record, 0);
  const images = new Uint8Array(length * PIXELS);
  const labels = new Int32Array(length);
  let i = 0;
  for (let f = 0; f < buffers.length; f++) {
    const buf = buffers[f];
    for (let off = 0; off < buf.length; off += record, i++) {
      const label = buf[off + labelOffset];
      if (label >= numClasses) {
        throw new DataError(
          `${paths[f]}: record ${off / record} has label ${label}, outside 0..${numClasses - 1} ` +
            `for CIFAR-${variant}${variant === 100 ? ` ${labelKind}` : ""} labels; ` +
            `the file is not a CIFAR-${variant} binary batch (CIFAR-10 and CIFAR-100 mixed up?)`,
        );
      }
      labels[i] = label;
      images.set(buf.subarray(off + labelBytes, off + record), i * PIXELS);
    }
  }
  const namesFile = variant === 10
    ? "batches.meta.txt"
    : (labelKind === "coarse" ? "coarse_label_names.txt" : "fine_label_names.txt");
  let classes = await readNames(join(folder, namesFile));
  if (classes !== null && classes.length !== numClasses) {
    // A names file that disagrees with the label range is ignored rather than trusted.
    classes = null;
  }
  return {
    length,
    channels: 3,
    height: 32,
    width: 32,
    images,
    labels,
    classes,
    source: folder,
  };
}
