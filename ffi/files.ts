// Files as tensors, over native/mapped_file.cpp: a uint8 tensor over a file's
// bytes with no copy (mapFile: the trainer's decoded image cache, which may be
// larger than memory), paging advice for the rows a loader will gather soon or
// has done with (adviseRows), the space left on a file system
// (diskAvailable), and a zero-copy view of a CPU uint8 tensor's bytes
// (tensorBytes).
import { lib } from "./library.ts";
import * as A from "./args.ts";
import { check, ints, OUT, OUT_I64, outHandleOrNull } from "./call.ts";
import { Advice } from "./ops.ts";
import { handleOf, type Tensor, wrap } from "./tensor.ts";

const enc = new TextEncoder();

/** A path as the C side takes it: a non-empty string without NUL, NUL-terminated. */
function cPath(sig: string, v: unknown): Uint8Array {
  if (typeof v !== "string") throw A.typeError(sig, "path", "a string", v);
  if (v === "" || v.includes("\0")) {
    throw A.rangeError(sig, "path", "a non-empty path without NUL characters", v);
  }
  return enc.encode(v + "\0");
}

/** mapFile's options: where the bytes begin in the file, and the tensor's shape. */
export interface MapFileOptions {
  /** The file offset of the tensor's first byte (default 0); need not be page aligned. */
  offset?: number;
  /** The tensor's shape: it covers prod(shape) bytes from `offset`. */
  shape: number[];
}

const SIG_MAP = "mapFile(path, options)";
const MAP_KEYS = ["offset", "shape"] as const;

/**
 * A CPU uint8 tensor of `shape` over the file's bytes [offset, offset +
 * prod(shape)), with no copy: the file is memory-mapped (MAP_PRIVATE), so the
 * tensor takes no memory of its own. Pages that are only read are the page
 * cache's (RssFile, not RssAnon: the kernel drops them under memory pressure
 * and reads them again when needed); an in-place write makes a private copy of
 * its page, which never reaches the file. The tensor is a new Tensor under the
 * usual rules (tidy, keep, dispose, `using`); the map is released when it and
 * every view of it are freed, and outlives an unlink of the file. A missing
 * file, or one shorter than offset + prod(shape) bytes, is a TorchError of one
 * line naming the path. prod(shape) 0 gives an empty tensor and maps nothing.
 * Gathering rows (`indexSelect`) reads only the pages they are on.
 */
export function mapFile(path: string, options: MapFileOptions): Tensor {
  const p = cPath(SIG_MAP, path);
  const o = A.options(SIG_MAP, options, MAP_KEYS);
  if (o === undefined) throw A.typeError(SIG_MAP, "options", "{ shape, offset? }", options);
  const shape = A.shape(SIG_MAP, "options.shape", o.shape);
  const offset = o.offset === undefined ? 0 : A.nonNegInt(SIG_MAP, "options.offset", o.offset);
  return wrap("tt_map_file", lib.tt_map_file(p, offset, ints(shape), shape.length, OUT));
}

/** adviseRows's advice: madvise's MADV_* of the same names. */
export type AdviceName = keyof typeof Advice;
const ADVICE = Object.keys(Advice) as AdviceName[];

const SIG_ADVISE = "adviseRows(t, rows, advice)";

// The rows as int64s, written as two uint32 words each (no BigInt per row); grown as needed.
let rowWords = new Uint32Array(512);

function packRows(rows: unknown): number {
  const list = rows as ArrayLike<number>;
  const n = list.length;
  if (rowWords.length < 2 * n) rowWords = new Uint32Array(Math.max(2 * n, 2 * rowWords.length));
  for (let i = 0; i < n; i++) {
    const r = list[i];
    if (!Number.isSafeInteger(r) || r < 0) {
      throw Number.isSafeInteger(r)
        ? A.rangeError(SIG_ADVISE, `rows[${i}]`, "a non-negative integer", r)
        : A.typeError(SIG_ADVISE, `rows[${i}]`, "a non-negative integer", r);
    }
    rowWords[2 * i] = r >>> 0;
    rowWords[2 * i + 1] = Math.floor(r / 4294967296);
  }
  return n;
}

/**
 * Paging advice for the dim-0 rows of a contiguous CPU tensor (madvise):
 *  - "willneed": the kernel starts reading the listed rows' pages in the
 *    background (neighbouring rows are merged into one request), so a gather
 *    of them soon after finds them in memory;
 *  - "dontneed": drops the pages wholly inside the listed rows from this
 *    process (the next read takes them from the page cache or the file again;
 *    a write made through the tensor to those pages is lost, the file's bytes
 *    come back);
 *  - "random", "sequential", "normal": the read-ahead policy of the whole map,
 *    `rows` ignored (null will do).
 * On a tensor of mapFile every call takes effect. On any other tensor it is
 * still valid and returns: "willneed" asks for the rows' pages (swapped-out
 * pages are read back), the others do nothing ("dontneed" would zero
 * anonymous memory). A row index outside [0, t.shape[0]) is a TorchError
 * naming it. Advice never changes a byte of the tensor's contents, but for
 * "dontneed" on written pages of a mapped tensor.
 */
export function adviseRows(
  t: Tensor,
  rows: Int32Array | number[] | null,
  advice: AdviceName,
): void {
  A.tensor(SIG_ADVISE, "t", t);
  const a = A.oneOf(SIG_ADVISE, "advice", advice, ADVICE);
  let n = 0;
  if (rows === null) {
    if (a === "willneed" || a === "dontneed") {
      throw A.typeError(SIG_ADVISE, "rows", `the rows to advise for "${a}"`, rows);
    }
  } else if (rows instanceof Int32Array || Array.isArray(rows)) {
    n = packRows(rows);
  } else {
    throw A.typeError(SIG_ADVISE, "rows", "an Int32Array, an array of row indices or null", rows);
  }
  check("tt_advise_rows", lib.tt_advise_rows(handleOf(t), rowWords, n, Advice[a]));
}

/**
 * Bytes an unprivileged user may still write on the file system that holds
 * `path` (statvfs: f_bavail * f_frsize, what `df` shows as available). A path
 * that does not exist is a TorchError naming it.
 */
export function diskAvailable(path: string): number {
  const p = cPath("diskAvailable(path)", path);
  check("tt_disk_available", lib.tt_disk_available(p, OUT_I64));
  return Number(OUT_I64[0]);
}

const SIG_BYTES = "tensorBytes(t)";

/**
 * The bytes of a contiguous CPU uint8 tensor as a Uint8Array over the
 * tensor's own memory, with no copy: writes through either side show in the
 * other. Valid only while `t` lives: the caller keeps `t` (and does not
 * dispose it, or let tidy free it) for as long as the array is used; after
 * that the array reads freed memory. For a tensor of mapFile, reading the
 * array reads the file's pages.
 */
export function tensorBytes(t: Tensor): Uint8Array {
  A.tensor(SIG_BYTES, "t", t);
  if (t.dtype !== "uint8" || t.device !== "cpu" || !t.isContiguous) {
    throw A.typeError(
      SIG_BYTES,
      "t",
      'a contiguous CPU uint8 tensor (use .to("cpu"), .to("uint8") or .contiguous())',
      t,
    );
  }
  const n = t.numel;
  if (n === 0) return new Uint8Array(0);
  check("tt_data_ptr", lib.tt_data_ptr(handleOf(t), OUT));
  const p = outHandleOrNull();
  if (p === null) throw A.typeError(SIG_BYTES, "t", "a tensor with memory", t);
  return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, n));
}
