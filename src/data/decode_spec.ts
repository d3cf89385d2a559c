/**
 * What a decode is asked: the size and channels every image becomes
 * (DecodeSpec) and the files a loader found (DecodePlan). Types only, shared
 * by the decoders, the worker pool and the cache.
 */

/** What every decoded image is turned into. */
export interface DecodeSpec {
  height: number;
  width: number;
  channels: 1 | 3 | 4;
  /** Antialiased (Pillow-style) bilinear when downscaling; default true. */
  antialias: boolean;
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
