// Helpers shared by the bench cases (our side): timing with warm-up and a
// median over repetitions, peak memory, synthetic images and FFI call counting.
import { lib } from "../ffi/library.ts";
import { Xoshiro128 } from "../src/data/loader.ts";
import type { ImageSet } from "../src/data/image_set.ts";

/** How many times to run a measurement. */
export interface Reps {
  warmup: number;
  reps: number;
  /** Stop adding repetitions after this many ms once `minReps` are done. */
  budgetMs?: number;
  minReps?: number;
}

export interface Timing {
  /** Median of the repetitions, ms. */
  ms: number;
  /** Every repetition, ms. */
  all: number[];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs `fn` `warmup` times untimed, then times up to `reps` runs; ms per run. */
export function timeReps(fn: (rep: number) => void, r: Reps): Timing {
  for (let i = 0; i < r.warmup; i++) fn(i);
  const all: number[] = [];
  const start = performance.now();
  const minReps = r.minReps ?? 2;
  for (let i = 0; i < r.reps; i++) {
    const t0 = performance.now();
    fn(r.warmup + i);
    all.push(performance.now() - t0);
    if (
      r.budgetMs !== undefined && all.length >= minReps && performance.now() - start > r.budgetMs
    ) {
      break;
    }
  }
  return { ms: median(all), all };
}

/** This process's peak resident set (VmHWM), MiB. */
export function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** `n` random uint8 images (NCHW) from a seeded PRNG. */
export function syntheticImages(n: number, c: number, h: number, w: number, seed = 0): ImageSet {
  const rng = new Xoshiro128(seed);
  const images = new Uint8Array(n * c * h * w);
  for (let i = 0; i < images.length; i += 4) {
    const v = rng.nextU32();
    images[i] = v & 255;
    images[i + 1] = (v >>> 8) & 255;
    images[i + 2] = (v >>> 16) & 255;
    images[i + 3] = v >>> 24;
  }
  return {
    length: n,
    channels: c,
    height: h,
    width: w,
    images,
    labels: null,
    classes: null,
    source: "synthetic",
  };
}

/**
 * Counts calls into the shim: replaces every bound symbol of `lib` by a
 * counting wrapper (the symbols object is a plain writable object) until
 * `stop()`. Only for a counting pass, never while timing.
 */
export class FfiCounter {
  readonly counts = new Map<string, number>();
  #saved = new Map<string, unknown>();
  total = 0;

  start(): this {
    const l = lib as unknown as Record<string, unknown>;
    for (const [name, fn] of Object.entries(l)) {
      if (typeof fn !== "function") continue;
      this.#saved.set(name, fn);
      const f = fn as (...a: unknown[]) => unknown;
      l[name] = (...a: unknown[]) => {
        this.total++;
        this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
        return f(...a);
      };
    }
    return this;
  }

  stop(): void {
    const l = lib as unknown as Record<string, unknown>;
    for (const [name, fn] of this.#saved) l[name] = fn;
    this.#saved.clear();
  }

  /** The most called symbols, most first. */
  top(k = 8): [string, number][] {
    return [...this.counts].sort((a, b) => b[1] - a[1]).slice(0, k);
  }
}
