/**
 * Decodes many image files, in the main thread or in a pool of Deno Workers.
 * Both paths run decode.ts, so the bytes are identical.
 *
 * `decodeChunks` is the streaming core: results come back chunk by chunk, in
 * input order, to a callback (the decode cache appends them to its file);
 * chunks that finish early wait in a bounded reorder window, so memory stays
 * at a few chunks per worker whatever the number of files. `decodeFiles` and
 * `decodeInMemory` collect the chunks into one buffer for sets that fit.
 */
import { DecodeFailure, decodeFileSized } from "./decode.ts";
import type { DecodeSpec } from "./decode_spec.ts";
import { DataError } from "./errors.ts";

/** Main thread -> worker: a chunk of consecutive files, `first` is the index of paths[0]. */
export interface DecodeJob {
  first: number;
  paths: string[];
  spec: DecodeSpec;
}

/**
 * Worker -> main thread: the decoded chunk (its good images back to back,
 * its corrupt files by index), or an unexpected error (not bad data) on file
 * `index`, which ends the whole decode.
 */
export type DecodeResult =
  | { ok: true; chunk: DecodedChunk }
  | { ok: false; first: number; index: number; message: string };

/** At or below this many files decoding stays on the main thread. */
export const WORKER_THRESHOLD = 64;

/**
 * Worker count to use for `n` files when the caller did not choose: one per
 * core above WORKER_THRESHOLD files, none on a single core (a worker would
 * only add its start-up). Each worker costs ~0.2 s to start (it loads
 * imagescript and compiles its wasm), about what 500 tiny PNGs take to decode.
 */
export function autoWorkers(n: number): number {
  const cores = navigator.hardwareConcurrency || 1;
  if (n <= WORKER_THRESHOLD || cores < 2) return 0;
  return Math.min(cores, Math.ceil(n / 16));
}

/** Shorter side of the source images: min and max over a set of files. */
export interface SourceSides {
  min: number;
  max: number;
}

/** Merges two side ranges (null: no image yet). */
export function mergeSides(a: SourceSides | null, b: SourceSides | null): SourceSides | null {
  if (a === null) return b;
  if (b === null) return a;
  return { min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) };
}

/** The decoded files `first .. first + count - 1`. */
export interface DecodedChunk {
  /** Index of the chunk's first input file. */
  first: number;
  /** Input files the chunk covers, good and corrupt. */
  count: number;
  /** The good files' images back to back (C*H*W bytes each), in input order. */
  data: Uint8Array<ArrayBuffer>;
  /** The corrupt files (DecodeFailure), by input index, ascending. */
  failures: { index: number; message: string }[];
  /** Shorter side of the good files' source images; null when none decoded. */
  sourceSides: SourceSides | null;
}

/** An unexpected (not bad-data) error on file `index`: it ends the whole decode. */
export class ChunkAbort extends Error {
  constructor(readonly index: number, override readonly cause: unknown) {
    super(`decoding file ${index} failed`, { cause });
    this.name = "ChunkAbort";
  }
}

/** Decodes consecutive files into one chunk; shared by the main thread and the workers. */
export async function decodeChunk(
  paths: string[],
  first: number,
  spec: DecodeSpec,
): Promise<DecodedChunk> {
  const per = spec.channels * spec.height * spec.width;
  const full = new Uint8Array(paths.length * per);
  const failures: { index: number; message: string }[] = [];
  let sides: SourceSides | null = null;
  let n = 0;
  for (let i = 0; i < paths.length; i++) {
    try {
      const d = await decodeFileSized(paths[i], spec);
      full.set(d.pixels, n * per);
      n++;
      const side = Math.min(d.sourceHeight, d.sourceWidth);
      sides = mergeSides(sides, { min: side, max: side });
    } catch (err) {
      // Only bad files are skipped; anything else is not the file's fault.
      if (!(err instanceof DecodeFailure)) throw new ChunkAbort(first + i, err);
      failures.push({ index: first + i, message: err.message });
    }
  }
  const data = n === paths.length ? full : full.slice(0, n * per);
  return { first, count: paths.length, data, failures, sourceSides: sides };
}

/** Images per chunk: small enough to balance the last chunks across workers, at most ~4 MiB. */
function chunkSize(files: number, workers: number, per: number): number {
  const byBytes = Math.max(1, Math.floor((4 << 20) / Math.max(1, per)));
  const byBalance = Math.max(1, Math.floor(files / (Math.max(1, workers) * 8)));
  return Math.max(1, Math.min(32, byBytes, byBalance));
}

/** Options of {@link decodeChunks}. */
export interface DecodeChunksOptions {
  /** First input index to decode (a resumed decode); default 0. */
  start?: number;
  /** Called as each chunk is dispatched to a worker; for tests of the window. */
  onDispatch?: (pending: number) => void;
}

/**
 * Decodes `paths[start..]` into `channels x height x width` images and hands
 * them to `onChunk` one chunk at a time, in input order, awaiting each call
 * before the next. Corrupt files (DecodeFailure) come back in the chunk's
 * `failures`; any other error rejects (as does an error thrown by `onChunk`).
 * `workers` 0 = main thread. With workers, at most 3 chunks per worker are
 * dispatched and not yet handed over: two in flight per worker, one waiting
 * for an earlier, slower chunk.
 */
export async function decodeChunks(
  paths: string[],
  spec: DecodeSpec,
  workers: number,
  onChunk: (chunk: DecodedChunk) => void | Promise<void>,
  opts: DecodeChunksOptions = {},
): Promise<void> {
  const start = opts.start ?? 0;
  const per = spec.channels * spec.height * spec.width;
  const nWorkers = Math.min(workers, paths.length - start);
  const chunk = chunkSize(paths.length - start, nWorkers, per);
  if (nWorkers <= 0) {
    for (let first = start; first < paths.length; first += chunk) {
      let c: DecodedChunk;
      try {
        c = await decodeChunk(paths.slice(first, first + chunk), first, spec);
      } catch (err) {
        throw err instanceof ChunkAbort ? err.cause : err;
      }
      await onChunk(c);
    }
    return;
  }
  await runPool(paths, spec, nWorkers, start, chunk, onChunk, opts.onDispatch);
}

function runPool(
  paths: string[],
  spec: DecodeSpec,
  nWorkers: number,
  start: number,
  chunk: number,
  onChunk: (chunk: DecodedChunk) => void | Promise<void>,
  onDispatch?: (pending: number) => void,
): Promise<void> {
  // Files go out in chunks so message overhead (~0.5 ms a round trip) is paid
  // per chunk, with two chunks in flight per worker so none waits for work.
  const depth = 2;
  // Chunks dispatched and not yet handed to onChunk (in flight, waiting in
  // the reorder window, or being written): the bound on memory.
  const window = nWorkers * (depth + 1);
  const pool: Worker[] = [];
  return new Promise<void>((resolve, reject) => {
    let next = start; // next file to dispatch
    let expected = start; // first file of the next chunk to hand over
    let pending = 0;
    let settled = false;
    let delivering = false;
    const ready = new Map<number, DecodedChunk>();
    const idle: Worker[] = [];
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      for (const w of pool) w.terminate();
      ready.clear();
      if (err !== undefined) reject(err);
      else resolve();
    };
    const dispatch = (w: Worker) => {
      if (settled || next >= paths.length) return;
      if (pending >= window) {
        idle.push(w);
        return;
      }
      const job: DecodeJob = { first: next, paths: paths.slice(next, next + chunk), spec };
      next += job.paths.length;
      pending++;
      onDispatch?.(pending);
      w.postMessage(job);
    };
    const deliver = async () => {
      if (delivering || settled) return;
      delivering = true;
      try {
        for (let c = ready.get(expected); c !== undefined; c = ready.get(expected)) {
          ready.delete(expected);
          expected += c.count;
          await onChunk(c);
          if (settled) return;
          pending--;
          while (idle.length > 0 && pending < window && next < paths.length) {
            dispatch(idle.pop()!);
          }
        }
        if (expected >= paths.length) finish();
      } catch (err) {
        finish(err);
      } finally {
        delivering = false;
      }
    };
    for (let k = 0; k < nWorkers; k++) {
      const w = new Worker(new URL("./decode_worker.ts", import.meta.url), { type: "module" });
      pool.push(w);
      w.onmessage = (e: MessageEvent<DecodeResult>) => {
        const r = e.data;
        if (settled) return;
        if (!r.ok) {
          finish(new Error(`decode worker failed on ${paths[r.index]}: ${r.message}`));
          return;
        }
        ready.set(r.chunk.first, r.chunk);
        dispatch(w);
        deliver();
      };
      w.onerror = (e: ErrorEvent) => {
        // A worker that cannot start or crashes is an environment problem, not bad data.
        e.preventDefault();
        finish(new Error(`decode worker crashed: ${e.message}`));
      };
    }
    for (let d = 0; d < depth; d++) for (const w of pool) dispatch(w);
  });
}

/** The DataError for a corrupt file, as every strict caller words it. */
function corruptError(label: string, message: string): DataError {
  return new DataError(`${label}: ${message}; fix or remove the file`);
}

/**
 * Decodes `paths` into `channels x height x width` images, returned as one
 * buffer in input order. Strict: the first corrupt file (in input order) is a
 * DataError; `label(i)` prefixes its message (the path, or the CSV line and
 * path). `workers` 0 = main thread.
 */
export async function decodeFiles(
  paths: string[],
  spec: DecodeSpec,
  workers: number,
  label: (i: number) => string = (i) => paths[i],
): Promise<Uint8Array> {
  const per = spec.channels * spec.height * spec.width;
  const out = new Uint8Array(paths.length * per);
  await decodeChunks(paths, spec, workers, (c) => {
    if (c.failures.length > 0) {
      const f = c.failures[0];
      throw corruptError(label(f.index), f.message);
    }
    out.set(c.data, c.first * per);
  });
  return out;
}

/** A corrupt file left out of a set: its label (path) and why. */
export interface SkippedFile {
  path: string;
  reason: string;
}

/** The DataError when every one of `files` input files was corrupt. */
export function allCorruptError(source: string, files: number, skipped: SkippedFile[]): DataError {
  const first = skipped.slice(0, 3).map((s) => `${s.path} (${s.reason})`).join(", ");
  return new DataError(
    `${source}: all ${files.toLocaleString("en-US")} image files failed to decode (${first}` +
      `${files > 3 ? ", ..." : ""}); fix or remove the files`,
  );
}

/** What {@link decodeInMemory} returns. */
export interface DecodedFiles {
  /** The good files' images back to back, in input order. */
  images: Uint8Array;
  /** Input index of each image in `images`. */
  kept: number[];
  /** The corrupt files, in input order. */
  skipped: SkippedFile[];
  sourceSides: SourceSides | null;
}

/**
 * Decodes `paths` into one buffer, skipping corrupt files (named by
 * `label(i)` in `skipped`). For sets that fit in memory; the decode cache
 * streams instead (decode_to_cache.ts).
 */
export async function decodeInMemory(
  paths: string[],
  spec: DecodeSpec,
  workers: number,
  label: (i: number) => string = (i) => paths[i],
  onChunk?: (chunk: DecodedChunk) => void,
): Promise<DecodedFiles> {
  const per = spec.channels * spec.height * spec.width;
  const out = new Uint8Array(paths.length * per);
  const kept: number[] = [];
  const skipped: SkippedFile[] = [];
  let sides: SourceSides | null = null;
  await decodeChunks(paths, spec, workers, (c) => {
    out.set(c.data, kept.length * per);
    let f = 0;
    for (let i = c.first; i < c.first + c.count; i++) {
      if (f < c.failures.length && c.failures[f].index === i) {
        skipped.push({ path: label(i), reason: c.failures[f].message });
        f++;
      } else {
        kept.push(i);
      }
    }
    sides = mergeSides(sides, c.sourceSides);
    onChunk?.(c);
  });
  return { images: out.subarray(0, kept.length * per), kept, skipped, sourceSides: sides };
}
