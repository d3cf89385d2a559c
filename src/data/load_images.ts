/**
 * Shared by imageFolder and csvImages: option checking, the decode cache and
 * the choice between main-thread and worker decoding.
 */
import { resolve } from "node:path";
import type { DecodeSpec } from "./decode.ts";
import { cacheKey, defaultCacheDir, readCache, writeCache } from "./decode_cache.ts";
import { autoWorkers, decodeFiles } from "./decode_pool.ts";
import { DataError } from "./errors.ts";
import type { ImageSet } from "./image_set.ts";

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

/** What a loader has worked out before decoding. */
export interface DecodePlan {
  kind: string;
  source: string;
  paths: string[];
  labels: Int32Array | null;
  classes: string[] | null;
  /** Prefix for a failing file i in messages. */
  label: (i: number) => string;
  /** Extra inputs whose stat belongs in the cache key (the CSV itself). */
  extraFiles?: string[];
}

/** Decodes the plan's files, through the cache when enabled. */
export async function decodePlan(
  plan: DecodePlan,
  spec: DecodeSpec,
  opts: DecodeOptions,
): Promise<ImageSet> {
  const useCache = opts.cache ?? true;
  const dir = opts.cacheDir !== undefined ? resolve(opts.cacheDir) : defaultCacheDir();
  let key: string | null = null;
  if (useCache && dir !== null) {
    key = await cacheKey(
      plan.kind,
      {
        spec,
        source: resolve(plan.source),
        // Labels and class names are part of what is cached, so part of the key.
        labels: plan.labels ? Array.from(plan.labels) : null,
        classes: plan.classes,
      },
      [...(plan.extraFiles ?? []), ...plan.paths],
    );
    const hit = await readCache(dir, key);
    const fits = hit !== null && hit.length === plan.paths.length &&
      hit.channels === spec.channels && hit.height === spec.height && hit.width === spec.width;
    if (fits) return hit;
  }
  const workers = opts.workers ?? autoWorkers(plan.paths.length);
  const images = await decodeFiles(plan.paths, spec, workers, plan.label);
  const set: ImageSet = {
    length: plan.paths.length,
    channels: spec.channels,
    height: spec.height,
    width: spec.width,
    images,
    labels: plan.labels,
    classes: plan.classes,
    source: plan.source,
  };
  if (key !== null && dir !== null) await writeCache(dir, key, set);
  return set;
}
