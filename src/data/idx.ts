/**
 * IDX readers (the MNIST file format: http://yann.lecun.com/exdb/mnist/),
 * plain or gzip-compressed, and Fashion-MNIST on top of them.
 */
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { DataError, describeError, readFileChecked } from "./errors.ts";
import type { ImageSet } from "./image_set.ts";

/** Magic of a uint8 3-D IDX file (N x H x W images). */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic of a uint8 1-D IDX file (N labels). */
export const IDX_LABELS_MAGIC = 0x00000801;

/** Fashion-MNIST class names, indexed by label (from the dataset's README). */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
]);

/** Where Debian's `dataset-fashion-mnist` package installs the files. */
export const DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

const hex32 = (v: number) => "0x" + (v >>> 0).toString(16).padStart(8, "0");

/** Returns the file's bytes, gunzipped when it starts with the gzip magic 1f 8b. */
async function readMaybeGzip(path: string, what: string): Promise<Uint8Array> {
  const raw = await readFileChecked(path, what);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      const out = gunzipSync(raw);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (err) {
      throw new DataError(
        `${path}: corrupt or truncated gzip data (${describeError(err)}); ` +
          `re-download the file or check it with 'gzip -t'`,
        { cause: err },
      );
    }
  }
  return raw;
}

interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses an IDX buffer whose magic must be `expected` (type 0x08 = uint8). */
function parseIdx(path: string, buf: Uint8Array, expected: number, what: string): IdxArray {
  const ndim = expected & 0xff;
  const hint = `check the path points at MNIST-style IDX files`;
  if (buf.length < 4) {
    throw new DataError(
      `${path}: file too short for an IDX header (${buf.length} bytes, need at least 4); ${hint}`,
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0);
  if (magic !== expected) {
    const isIdx = buf[0] === 0 && buf[1] === 0;
    let why: string;
    if (isIdx && magic === IDX_LABELS_MAGIC && expected === IDX_IMAGES_MAGIC) {
      why = "this is an IDX labels file; did you swap the images and labels paths?";
    } else if (isIdx && magic === IDX_IMAGES_MAGIC && expected === IDX_LABELS_MAGIC) {
      why = "this is an IDX images file; did you swap the images and labels paths?";
    } else if (isIdx && buf[2] !== 0x08) {
      why = `IDX element type 0x${buf[2].toString(16).padStart(2, "0")} is not supported, ` +
        `only uint8 (0x08)`;
    } else if (isIdx) {
      why = `IDX file has ${buf[3]} dimension(s), ${what} need ${ndim}`;
    } else {
      why = hint;
    }
    throw new DataError(
      `${path}: not an IDX ${what} file (magic ${hex32(magic)}, expected ${hex32(expected)} ` +
        `for uint8 ${what}); ${why}`,
    );
  }
  const headerBytes = 4 + 4 * ndim;
  if (buf.length < headerBytes) {
    throw new DataError(
      `${path}: truncated IDX header (${buf.length} bytes, expected ${headerBytes} for ` +
        `${ndim} dimension(s)); the file is incomplete, re-download it`,
    );
  }
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i));
  // Compare sizes before allocating anything: a bogus header must not make us
  // allocate gigabytes.
  const expectedBytes = dims.reduce((a, b) => a * b, 1);
  const actualBytes = buf.length - headerBytes;
  if (actualBytes !== expectedBytes) {
    const problem = actualBytes < expectedBytes ? "truncated" : "has trailing bytes";
    throw new DataError(
      `${path}: IDX ${what} payload ${problem}: header says ${dims.join(" x ")} = ` +
        `${expectedBytes} bytes, file has ${actualBytes} bytes after the ${headerBytes}-byte ` +
        `header; the file is damaged or incomplete, re-download it`,
    );
  }
  return { dims, data: buf.subarray(headerBytes) };
}

/**
 * Reads IDX images (magic 0x00000803: uint8, N x H x W) and optionally IDX
 * labels (magic 0x00000801: uint8, N). Either file may be gzip-compressed
 * (detected by content, not name). Images come back with one channel.
 */
export async function idx(imagesPath: string, labelsPath?: string): Promise<ImageSet> {
  const imgBuf = await readMaybeGzip(imagesPath, "IDX images file");
  const img = parseIdx(imagesPath, imgBuf, IDX_IMAGES_MAGIC, "images");
  const [n, h, w] = img.dims;
  let labels: Int32Array | null = null;
  if (labelsPath !== undefined) {
    const labBuf = await readMaybeGzip(labelsPath, "IDX labels file");
    const lab = parseIdx(labelsPath, labBuf, IDX_LABELS_MAGIC, "labels");
    if (lab.dims[0] !== n) {
      throw new DataError(
        `${labelsPath}: has ${lab.dims[0]} labels but ${imagesPath} has ${n} images; ` +
          `use the labels file that belongs to these images (train with train, t10k with t10k)`,
      );
    }
    labels = Int32Array.from(lab.data);
  }
  return {
    length: n,
    channels: 1,
    height: h,
    width: w,
    images: img.data,
    labels,
    classes: null,
    source: imagesPath,
  };
}

/** Finds `base` or `base.gz` in `dir`; null when neither exists as a file. */
async function findIdxFile(dir: string, base: string): Promise<string | null> {
  for (const name of [base, `${base}.gz`]) {
    const p = join(dir, name);
    try {
      if ((await Deno.stat(p)).isFile) return p;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        throw new DataError(`${p}: cannot access (${describeError(err)})`, { cause: err });
      }
    }
  }
  return null;
}

/** Options for {@link fashionMnist}. */
export interface FashionMnistOptions {
  split: "train" | "test";
  /** Folder with the IDX files; default FASHION_MNIST_DIR, then Debian's path. */
  dir?: string;
}

/** The directory fashionMnist() would read when no `dir` is given. */
export function fashionMnistDir(): string {
  return Deno.env.get("FASHION_MNIST_DIR") || DEBIAN_FASHION_MNIST_DIR;
}

/**
 * Fashion-MNIST (60000 train / 10000 test, 1 x 28 x 28) from
 * `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]` in `dir`, else
 * `$FASHION_MNIST_DIR`, else /usr/share/datasets/fashion-mnist (Debian's
 * `dataset-fashion-mnist` package).
 */
export async function fashionMnist(options: FashionMnistOptions): Promise<ImageSet> {
  const { split } = options;
  if (split !== "train" && split !== "test") {
    throw new DataError(`fashionMnist: split must be "train" or "test", got ${String(split)}`);
  }
  const dir = options.dir ?? fashionMnistDir();
  const prefix = split === "train" ? "train" : "t10k";
  const imagesBase = `${prefix}-images-idx3-ubyte`;
  const labelsBase = `${prefix}-labels-idx1-ubyte`;
  const imagesPath = await findIdxFile(dir, imagesBase);
  const labelsPath = await findIdxFile(dir, labelsBase);
  const missing = [imagesPath ? null : imagesBase, labelsPath ? null : labelsBase]
    .filter((x) => x !== null);
  if (imagesPath === null || labelsPath === null) {
    throw new DataError(
      `${dir}: Fashion-MNIST ${split} files not found (missing ${missing.join(" and ")}, ` +
        `plain or .gz); install them with 'apt-get install dataset-fashion-mnist' ` +
        `(Debian, puts them in ${DEBIAN_FASHION_MNIST_DIR}) or set FASHION_MNIST_DIR to the ` +
        `folder holding them`,
    );
  }
  const set = await idx(imagesPath, labelsPath);
  const k = FASHION_MNIST_CLASSES.length;
  const labels = set.labels!;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= k) {
      throw new DataError(
        `${labelsPath}: label ${labels[i]} at index ${i} is not a Fashion-MNIST class ` +
          `(0..${k - 1}); this is not a Fashion-MNIST labels file`,
      );
    }
  }
  return { ...set, classes: [...FASHION_MNIST_CLASSES] };
}
