/**
 * Decodes many image files into one NCHW buffer, in the main thread or in a
 * pool of Deno Workers. Both paths run decode.ts, so the bytes are identical.
 */
import { DecodeFailure, decodeFile, type DecodeSpec } from "./decode.ts";
import type { DecodeJob, DecodeResult } from "./decode_worker.ts";
import { DataError } from "./errors.ts";

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

/**
 * Decodes `paths` into `channels x height x width` images, returned as one
 * buffer in input order. `label(i)` prefixes error messages for file i (the
 * path, or the CSV line and path). `workers` 0 = main thread.
 */
export async function decodeFiles(
  paths: string[],
  spec: DecodeSpec,
  workers: number,
  label: (i: number) => string = (i) => paths[i],
): Promise<Uint8Array> {
  const per = spec.channels * spec.height * spec.width;
  const out = new Uint8Array(paths.length * per);
  const fail = (i: number, message: string, cause?: unknown) =>
    new DataError(
      `${label(i)}: ${message}; fix or remove the file`,
      cause === undefined ? undefined : { cause },
    );
  if (workers <= 0) {
    for (let i = 0; i < paths.length; i++) {
      let img: Uint8Array;
      try {
        img = await decodeFile(paths[i], spec);
      } catch (err) {
        // Only bad files become per-file DataErrors; anything else is not the file's fault.
        if (err instanceof DecodeFailure) throw fail(i, err.message, err);
        throw err;
      }
      out.set(img, i * per);
    }
    return out;
  }
  await runPool(paths, spec, Math.min(workers, paths.length), out, per, fail);
  return out;
}

function runPool(
  paths: string[],
  spec: DecodeSpec,
  nWorkers: number,
  out: Uint8Array,
  per: number,
  fail: (i: number, message: string) => DataError,
): Promise<void> {
  // Files go out in chunks so message overhead (~0.5 ms a round trip) is paid
  // per chunk, with two chunks in flight per worker so none waits for work;
  // chunks stay small enough that the last ones balance across workers.
  const chunk = Math.max(1, Math.min(32, Math.floor(paths.length / (nWorkers * 8))));
  const depth = 2;
  const pool: Worker[] = [];
  return new Promise<void>((resolve, reject) => {
    let next = 0;
    let inFlight = 0;
    let settled = false;
    let firstFailure: { index: number; message: string } | null = null;
    let fatal: Error | null = null;
    const finish = () => {
      if (settled) return;
      settled = true;
      for (const w of pool) w.terminate();
      if (fatal) reject(fatal);
      else if (firstFailure) reject(fail(firstFailure.index, firstFailure.message));
      else resolve();
    };
    const dispatch = (w: Worker) => {
      if (settled || firstFailure || fatal || next >= paths.length) return;
      const job: DecodeJob = { first: next, paths: paths.slice(next, next + chunk), spec };
      next += job.paths.length;
      inFlight++;
      w.postMessage(job);
    };
    for (let k = 0; k < nWorkers; k++) {
      const w = new Worker(new URL("./decode_worker.ts", import.meta.url), { type: "module" });
      pool.push(w);
      w.onmessage = (e: MessageEvent<DecodeResult>) => {
        const r = e.data;
        inFlight--;
        if (r.ok) {
          out.set(r.data, r.first * per);
        } else if (r.failure) {
          // Keep the lowest failing index seen, as the sequential path would report.
          if (!firstFailure || r.index < firstFailure.index) {
            firstFailure = { index: r.index, message: r.message };
          }
        } else {
          fatal ??= new Error(`decode worker failed on ${paths[r.index]}: ${r.message}`);
        }
        dispatch(w);
        if (inFlight === 0) finish();
      };
      w.onerror = (e: ErrorEvent) => {
        // A worker that cannot start or crashes is an environment problem, not bad data.
        e.preventDefault();
        fatal ??= new Error(`decode worker crashed: ${e.message}`);
        finish();
      };
    }
    for (let d = 0; d < depth; d++) for (const w of pool) dispatch(w);
  });
}
