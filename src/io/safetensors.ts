/**
 * Pure-TypeScript safetensors codec (https://github.com/huggingface/safetensors).
 *
 * Layout: an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
 * (`{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`,
 * space-padded), then the byte buffer the offsets point into. No tensor library
 * is involved: tensors are raw little-endian bytes plus dtype and shape.
 *
 * @module
 */

import { writeFileAtomic } from "./atomic.ts";
import { DTYPES, type SafetensorsName } from "../../ffi/dtype.ts";

/**
 * Element types of the safetensors format that this codec reads and writes:
 * libtorch's (ffi/dtype.ts's table, pure data) and the unsigned ones it has no
 * dtype for here.
 */
export type SafeDType = SafetensorsName | "U16" | "U32" | "U64";

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Record<SafeDType, number> = {
  ...Object.fromEntries(DTYPES.map((d) => [d.safetensors, d.bytes])) as Record<
    SafetensorsName,
    number
  >,
  U16: 2,
  U32: 4,
  U64: 8,
};

// Rank of each dtype in the Rust crate's `Dtype` enum. Its writer sorts by rank
// descending, then by name, so larger elements come first and every tensor
// starts aligned to its element size; mirroring it gives byte-identical files.
const DTYPE_RANK: Record<SafeDType, number> = {
  BOOL: 0,
  U8: 1,
  I8: 2,
  I16: 5,
  U16: 6,
  F16: 7,
  BF16: 8,
  I32: 9,
  U32: 10,
  F32: 11,
  F64: 12,
  I64: 13,
  U64: 14,
};

/** A tensor as raw bytes: `data` holds numel * DTYPE_SIZE[dtype] little-endian bytes. */
export interface RawTensor {
  dtype: SafeDType;
  shape: number[];
  data: Uint8Array;
}

/** The decoded content of a safetensors buffer or file. */
export interface SafetensorsContent {
  tensors: Record<string, RawTensor>;
  /** The `__metadata__` map, or null when the header has none. */
  metadata: Record<string, string> | null;
}

/** Any problem reading or writing safetensors data; the message names the source. */
export class SafetensorsError extends Error {
  /** The file path (or `<buffer>`) the problem was found in. */
  readonly source: string;

  constructor(source: string, problem: string, fix?: string, options?: ErrorOptions) {
    super(`${source}: ${problem}${fix ? `; ${fix}` : ""}`, options);
    this.name = "SafetensorsError";
    this.source = source;
  }
}

/** Largest header accepted, as in the reference implementation (guards against huge allocations). */
export const MAX_HEADER_SIZE = 100_000_000;

const METADATA_KEY = "__metadata__";
const REEXPORT = "the file is truncated or not a safetensors file; re-export it";

function isSafeDType(s: unknown): s is SafeDType {
  return typeof s === "string" && Object.hasOwn(DTYPE_SIZE, s);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

// numel * element size as a bigint, so huge shapes cannot overflow into a false match.
function byteLength(dtype: SafeDType, shape: number[]): bigint {
  let n = BigInt(DTYPE_SIZE[dtype]);
  for (const d of shape) n *= BigInt(d);
  return n;
}

const utf8 = new TextEncoder();

// Byte-wise UTF-8 order, as Rust's `str::cmp` (JS `<` compares UTF-16 units).
function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/**
 * Serializes tensors (and optional string metadata) to safetensors bytes.
 * Tensors are laid out as the Rust crate does: dtype size descending, then by
 * name, offsets contiguous from 0; the header is padded with spaces so the data
 * starts at a multiple of 8. Throws SafetensorsError on inconsistent input.
 */
export function encodeSafetensors(
  tensors: Record<string, RawTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const src = "<encode>";
  const names = Object.keys(tensors);
  for (const name of names) {
    if (name === METADATA_KEY) {
      throw new SafetensorsError(src, `"${METADATA_KEY}" is reserved and cannot name a tensor`);
    }
    const t = tensors[name];
    if (!isSafeDType(t.dtype)) {
      throw new SafetensorsError(src, `tensor "${name}" has unknown dtype ${String(t.dtype)}`);
    }
    if (!Array.isArray(t.shape) || !t.shape.every(isNonNegInt)) {
      throw new SafetensorsError(
        src,
        `tensor "${name}" has shape ${JSON.stringify(t.shape)}; dims must be non-negative integers`,
      );
    }
    const want = byteLength(t.dtype, t.shape);
    if (BigInt(t.data.byteLength) !== want) {
      throw new SafetensorsError(
        src,
        `tensor "${name}" has ${t.data.byteLength} bytes but ${t.dtype} x [${t.shape}] needs ${want}`,
      );
    }
  }
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new SafetensorsError(src, `metadata "${k}" is a ${typeof v}; values must be strings`);
      }
    }
  }

  names.sort((a, b) =>
    DTYPE_RANK[tensors[b].dtype] - DTYPE_RANK[tensors[a].dtype] || compareUtf8(a, b)
  );
  // __metadata__ first, then tensors in layout order, as the Rust crate writes it.
  // Built by hand: a JS object would move integer-like names ("0", "1") first.
  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`"${METADATA_KEY}":${JSON.stringify(metadata)}`);
  let offset = 0;
  for (const name of names) {
    const { dtype, shape, data } = tensors[name];
    const info = { dtype, shape, data_offsets: [offset, offset + data.byteLength] };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset += data.byteLength;
  }

  const json = utf8.encode(`{${parts.join(",")}}`);
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let pos = 8 + n;
  for (const name of names) {
    out.set(tensors[name].data, pos);
    pos += tensors[name].data.byteLength;
  }
  return out;
}

// JSON.parse keeps the last of duplicated keys silently, so scan the (already
// valid) JSON text and report the first key repeated within one object.
function findDuplicateKey(text: string): string | null {
  const stack: { obj: boolean; keys: Set<string>; expectKey: boolean; name: string }[] = [];
  let lastKey = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{" || c === "[") {
      stack.push({ obj: c === "{", keys: new Set(), expectKey: c === "{", name: lastKey });
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      const top = stack[stack.length - 1];
      if (top?.obj) top.expectKey = true;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.obj && top.expectKey) {
        // Decode escapes so "\u0061" and "a" count as the same key.
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) {
          return stack.length > 1 ? `"${key}" in entry "${top.name}"` : `"${key}"`;
        }
        top.keys.add(key);
        top.expectKey = false;
        lastKey = key;
      }
      i = j;
    }
  }
  return null;
}

/**
 * Parses and validates safetensors bytes. Every problem (truncation, bad
 * header, unknown dtype, size mismatch, overlapping or missing bytes, ...)
 * is a SafetensorsError whose message starts with `source`.
 *
 * The returned tensors' `data` are subarray views into `bytes`, not copies:
 * they alias the input, keep its whole buffer alive, and need not be aligned
 * to their element size unless the writer aligned them (encodeSafetensors does).
 * Copy them (`data.slice()`) to detach or to get aligned typed-array views.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = "<buffer>",
): SafetensorsContent {
  const fail = (problem: string, fix?: string): never => {
    throw new SafetensorsError(source, problem, fix);
  };
  if (bytes.byteLength < 8) {
    fail(`only ${bytes.byteLength} bytes, shorter than the 8-byte header length`, REEXPORT);
  }
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_SIZE)) {
    fail(`header length ${n64} is larger than the limit of ${MAX_HEADER_SIZE} bytes`, REEXPORT);
  }
  const n = Number(n64);
  if (8 + n > bytes.byteLength) {
    fail(
      `header length ${n} runs past the end of the file (${bytes.byteLength} bytes)`,
      REEXPORT,
    );
  }

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      bytes.subarray(8, 8 + n),
    );
  } catch {
    return fail("header is not valid UTF-8", REEXPORT);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`, REEXPORT);
  }
  if (!isPlainObject(header)) {
    fail(`header is not a JSON object (found ${Array.isArray(header) ? "array" : typeof header})`);
  }
  const head = header as Record<string, unknown>;
  if (text[0] !== "{") fail("header does not start with '{'", REEXPORT);
  const dup = findDuplicateKey(text);
  if (dup !== null) fail(`header has the duplicated key ${dup}`, REEXPORT);

  let metadata: Record<string, string> | null = null;
  if (Object.hasOwn(head, METADATA_KEY)) {
    const m = head[METADATA_KEY];
    if (!isPlainObject(m)) fail(`"${METADATA_KEY}" is not an object of strings`);
    for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
      if (typeof v !== "string") {
        fail(`"${METADATA_KEY}" value of "${k}" is ${JSON.stringify(v)}, not a string`);
      }
    }
    metadata = m as Record<string, string>;
  }

  const dataStart = 8 + n;
  const dataLen = bytes.byteLength - dataStart;
  const entries: { name: string; begin: number; end: number }[] = [];
  const tensors: Record<string, RawTensor> = {};
  for (const [name, info] of Object.entries(head)) {
    if (name === METADATA_KEY) continue;
    const where = `tensor "${name}"`;
    if (!isPlainObject(info)) fail(`${where} is not an object`);
    const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
    if (dtype === undefined) fail(`${where} has no "dtype"`);
    if (shape === undefined) fail(`${where} has no "shape"`);
    if (offs === undefined) fail(`${where} has no "data_offsets"`);
    if (typeof dtype !== "string") fail(`${where} has a non-string dtype ${JSON.stringify(dtype)}`);
    if (!isSafeDType(dtype)) {
      fail(
        `${where} has unknown dtype "${dtype}"`,
        `supported: ${Object.keys(DTYPE_SIZE).join(", ")}`,
      );
    }
    if (!Array.isArray(shape)) fail(`${where} has shape ${JSON.stringify(shape)}, not an array`);
    if (!(shape as unknown[]).every(isNonNegInt)) {
      fail(`${where} has shape ${JSON.stringify(shape)}; dims must be non-negative integers`);
    }
    if (
      !Array.isArray(offs) || offs.length !== 2 || !isNonNegInt(offs[0]) ||
      !isNonNegInt(offs[1]) || offs[0] > offs[1]
    ) {
      fail(
        `${where} has data_offsets ${
          JSON.stringify(offs)
        }; expected [begin, end] integers with 0 <= begin <= end`,
      );
    }
    const dt = dtype as SafeDType;
    const dims = shape as number[];
    const [begin, end] = offs as [number, number];
    const want = byteLength(dt, dims);
    if (BigInt(end - begin) !== want) {
      fail(
        `${where} spans ${end - begin} bytes but ${dt} x [${dims}] needs ${want} bytes`,
        REEXPORT,
      );
    }
    if (end > dataLen) {
      fail(
        `${where} has data_offsets [${begin}, ${end}] beyond the ${dataLen}-byte data buffer`,
        REEXPORT,
      );
    }
    entries.push({ name, begin, end });
    // defineProperty, not assignment: a tensor named "__proto__" must stay a tensor.
    Object.defineProperty(tensors, name, {
      value: { dtype: dt, shape: dims, data: bytes.subarray(dataStart + begin, dataStart + end) },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }

  // The spec requires the tensors to tile the data buffer exactly.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let prev = { name: "", end: 0 };
  for (const e of entries) {
    if (e.begin < prev.end) {
      fail(
        `tensor "${e.name}" (bytes ${e.begin}..${e.end}) overlaps tensor "${prev.name}" ` +
          `(ending at ${prev.end})`,
        REEXPORT,
      );
    }
    if (e.begin > prev.end) {
      fail(
        `hole in the data buffer: bytes ${prev.end}..${e.begin} belong to no tensor ` +
          `(before tensor "${e.name}")`,
        REEXPORT,
      );
    }
    prev = e;
  }
  if (prev.end !== dataLen) {
    fail(
      `tensors cover ${prev.end} bytes but the data buffer has ${dataLen}; ` +
        `bytes ${prev.end}..${dataLen} belong to no tensor`,
      REEXPORT,
    );
  }
  return { tensors, metadata };
}

/**
 * Reads and decodes a safetensors file. The tensors' `data` are views into one
 * buffer holding the whole file (see decodeSafetensors).
 */
export async function readSafetensorsFile(path: string): Promise<SafetensorsContent> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new SafetensorsError(path, "file not found", "check the path", { cause: e });
    }
    throw new SafetensorsError(path, `cannot read: ${(e as Error).message}`, undefined, {
      cause: e,
    });
  }
  return decodeSafetensors(bytes, path);
}

/**
 * Encodes and writes a safetensors file atomically: the bytes go to a temp file
 * in the same directory, are fsynced, then renamed over `path`, so readers see
 * either the old file or the complete new one. The temp file is removed on failure.
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: Record<string, RawTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata);
  try {
    await writeFileAtomic(path, bytes);
  } catch (e) {
    throw new SafetensorsError(
      path,
      `cannot write: ${((e as Error).cause as Error | undefined)?.message ?? (e as Error).message}`,
      "check that the directory exists and is writable, and the free space",
      { cause: e },
    );
  }
}
