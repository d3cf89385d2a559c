/**
 * Shared by imageFolder and csvImages: option checking, the decode cache and
 * the choice between main-thread and worker decoding.
 */
import { resolve } from "node:path";
import type { DecodePlan, DecodeSpec } from "./decode_spec.ts";
import { cachedSet, type CacheHeader, defaultCacheDir } from "./decode_cache.ts";
import { allCorruptError, autoWorkers, decodeInMemory } from "./decode_pool.ts";
import { type DecodeProgress, ProgressMeter, summaryLine } from "./decode_progress.ts";
import { CacheUnwritableError, decodeToCache } from "./decode_to_cache.ts";
import { DataError } from "./errors.ts";
import type { ImageSet } from "./image_set.ts";

export type { DecodePlan } from "./decode_spec.ts";

/** Decoding options common to the file-based loaders. */
export interface DecodeOptions {
  /**
   * Output size: `n` for n x n or `[height, width]`. Every image is resized
   * to exactly this size, aspect ratio not kept (torchvision `Resize((h, w))`),
   * with Pillow's bilinear filter (antialiased when downscaling).
   */
  size: number | [number, number];
  /** 1 (gray, BT.601 luma), 3 (RGB) or 4 (RGBA). */
  channels: 1 | 3 | 4;
  /** Use the on-disk decode cache (default true). */
  cache?: boolean;
  /** Cache folder; default from BYOL_CACHE_DIR / XDG_CACHE_HOME / ~/.cache. */
  cacheDir?: string;
  /**
   * Decode workers; default: navigator.hardwareConcurrency when there are
   * more than 64 files, else 0 (main thread). Results are identical.
   */
  workers?: number;
  /** Antialias when downscaling, as Pillow does (default true). */
  antialias?: boolean;
  /**
   * Progress of a long decode: the cache's size and path, a resume, waiting
   * for another process, images per second and ETA (at most ~4 calls a
   * second), and a summary naming skipped files. `terminalProgress()`
   * (decode_progress.ts) prints them. Default: silent.
   */
  onProgress?: (p: DecodeProgress) => void;
  /**
   * Free bytes on the disk of a folder (statvfs); when given, the decode
   * cache checks there is room for what it still has to write before it
   * writes anything. Default: no check.
   */
  diskAvailable?: (dir: string) => number;
  /**
   * Turns a finished cache file into the returned set (e.g. by mapping its
   * images instead of reading them). Default: the images are read into
   * memory.
   */
  mapped?: (path: string, header: CacheHeader) => ImageSet;
}

/** Validates the shared options; `where` names the loader and path for messages. */
export function decodeSpec(opts: DecodeOptions, where: string): DecodeSpec {
  if (opts === null || typeof opts !== "object") {
    throw new DataError(`${where}: options with size and channels are required`);
  }
  const size = opts.size;
  const [height, width] = Array.isArray(size) ? size : [size, size];
  const okDim = (v: unknown) =>
    Number.isSafeInteger(v) && (v as number) > 0 && (v as number) <= 65536;
  if (
    !okDim(height) || !okDim(width) || (Array.isArray(size) && size.length !== 2)
  ) {
    throw new DataError(
      `${where}: size must be a positive integer or [height, width], got ${JSON.stringify(size)}`,
    );
  }
  if (opts.channels !== 1 && opts.channels !== 3 && opts.channels !== 4) {
    throw new DataError(`${where}: channels must be 1, 3 or 4, got ${String(opts.channels)}`);
  }
  if (
    opts.workers !== undefined && (!Number.isSafeInteger(opts.workers) || opts.workers < 0)
  ) {
    throw new DataError(
      `${where}: workers must be a non-negative integer, got ${String(opts.workers)}`,
    );
  }
  return { height, width, channels: opts.channels, antialias: opts.antialias ?? true };
}

/**
 * Decodes the plan's files. With the cache (default) the decode streams into
 * the cache file (decodeToCache) and the set is `opts.mapped(path, header)`
 * or the file's images read into memory; with `cache: false`, or no cache
 * folder, or one that cannot be written, in memory. Either way a corrupt file
 * is skipped and named in the set's `skipped`; all files corrupt is a
 * DataError.
 */
export async function decodePlan(
  plan: DecodePlan,
  spec: DecodeSpec,
  opts: DecodeOptions,
): Promise<ImageSet> {
  const useCache = opts.cache ?? true;
  const dir = opts.cacheDir !== undefined ? resolve(opts.cacheDir) : defaultCacheDir();
  if (useCache && dir !== null) {
    try {
      const { path, header } = await decodeToCache(plan, spec, {
        dir,
        workers: opts.workers,
        onProgress: opts.onProgress,
        diskAvailable: opts.diskAvailable,
      });
      return opts.mapped ? opts.mapped(path, header) : await cachedSet(path, header);
    } catch (err) {
      // Caching was always best effort: an unwritable folder decodes in memory.
      if (!(err instanceof CacheUnwritableError)) throw err;
      opts.onProgress?.({
        phase: "plan",
        message: `${err.message}; decoding in memory`,
        done: 0,
        total: plan.paths.length,
        imagesPerSecond: 0,
        etaSeconds: null,
      });
    }
  }
  return await decodePlanInMemory(plan, spec, opts);
}

/** The in-memory decode, skipping corrupt files like the cache does. */
async function decodePlanInMemory(
  plan: DecodePlan,
  spec: DecodeSpec,
  opts: DecodeOptions,
): Promise<ImageSet> {
  const t0 = performance.now();
  const n = plan.paths.length;
  const meter = new ProgressMeter(opts.onProgress, n);
  const workers = opts.workers ?? autoWorkers(n);
  meter.phase("decode", 0);
  const r = await decodeInMemory(
    plan.paths,
    spec,
    workers,
    plan.label,
    (c) => meter.update(c.first + c.count),
  );
  if (r.kept.length === 0) throw allCorruptError(plan.source, n, r.skipped);
  const sourceSides = r.sourceSides ?? { min: 0, max: 0 };
  meter.phase(
    "done",
    n,
    summaryLine({
      decoded: r.kept.length,
      skipped: r.skipped,
      fromCache: false,
      resumedAt: 0,
      seconds: (performance.now() - t0) / 1000,
      workers: Math.min(workers, n),
      sourceSides,
    }, n),
  );
  return {
    length: r.kept.length,
    channels: spec.channels,
    height: spec.height,
    width: spec.width,
    images: r.images,
    labels: plan.labels === null ? null : Int32Array.from(r.kept, (i) => plan.labels![i]),
    classes: plan.classes,
    source: plan.source,
    skipped: r.skipped,
    sourceSides,
  };
}
