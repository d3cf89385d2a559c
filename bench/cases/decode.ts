// The image decoders, one core each (main thread, no workers): images per
// second that decodeImage turns from JPEG bytes in memory into CHW RGB planes
// at the asked size, with imagescript (wasm, + resize.ts) and with the native
// decoder (libttimage.so: libjpeg-turbo + the C resize), over the same files.
// The files are written here on first use into `p.dir` (the suite's temp
// folder; Pillow's side, bench/py/decode.py, reads the same files): synthetic
// photos (smooth color fields, edges and noise) encoded by imagescript.
import { join } from "node:path";
import { Image } from "../../deps/imagescript.ts";
import { decodeImage, type DecodeSpec } from "../../src/data/decode.ts";
import { decoderId, nativeDecoderPath, openNativeDecoder } from "../../src/data/native_decoder.ts";
import { Xoshiro128 } from "../../src/data/loader.ts";
import type { CaseParams } from "./params.ts";

/** One set of files: `n` JPEGs with sides drawn from [min, max] (w and h apart). */
export interface FileSet {
  name: string;
  n: number;
  /** [min, max] width; height [min, max] too, or the fixed [w, h] when equal. */
  w: [number, number];
  h: [number, number];
}

/** One measured row: a file set decoded to out x out RGB. */
export interface DecodeConfig {
  set: string;
  out: number;
}

export interface DecoderSpeed {
  /** Images per second on one core (median repetition). */
  ips: number;
  ms: number;
}

function synthetic(w: number, h: number, rng: Xoshiro128): Image {
  const im = new Image(w, h);
  const b = im.bitmap;
  const fx = 3 + (rng.nextU32() % 9), fy = 3 + (rng.nextU32() % 7), phase = rng.nextU32() % 64;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 4 * (y * w + x);
      const noise = (rng.nextU32() & 31) - 16;
      const edge = ((x >> 4) + (y >> 4)) & 1 ? 30 : 0;
      b[i] = Math.max(0, Math.min(255, 128 + 90 * Math.sin(x / fx + phase) + edge + noise));
      b[i + 1] = Math.max(0, Math.min(255, 128 + 90 * Math.cos(y / fy) + noise));
      b[i + 2] = Math.max(0, Math.min(255, ((x * 3 + y * 2 + phase) & 255) - edge + noise));
      b[i + 3] = 255;
    }
  }
  return im;
}

/** Writes set `s` into dir/<name>/ unless it is there; returns the file bytes. */
export async function ensureFiles(dir: string, s: FileSet): Promise<Uint8Array[]> {
  const sub = join(dir, s.name);
  await Deno.mkdir(sub, { recursive: true });
  const rng = new Xoshiro128(s.n * 31 + s.w[0]);
  const out: Uint8Array[] = [];
  for (let i = 0; i < s.n; i++) {
    const path = join(sub, `${String(i).padStart(5, "0")}.jpg`);
    const w = s.w[0] + (rng.nextU32() % (s.w[1] - s.w[0] + 1));
    const h = s.h[0] + (rng.nextU32() % (s.h[1] - s.h[0] + 1));
    try {
      out.push(await Deno.readFile(path));
    } catch {
      const bytes = await synthetic(w, h, rng).encodeJPEG(85);
      await Deno.writeFile(path, bytes);
      out.push(bytes);
    }
  }
  return out;
}

export async function run(p: CaseParams): Promise<{
  decoder: string;
  nativeBuilt: boolean;
  rows: { set: string; out: number; imagescript: DecoderSpeed; native: DecoderSpeed | null }[];
}> {
  const sets = p.sets as FileSet[];
  const configs = p.configs as DecodeConfig[];
  const files = new Map<string, Uint8Array[]>();
  for (const s of sets) files.set(s.name, await ensureFiles(p.dir as string, s));
  let nativeBuilt = false;
  try {
    openNativeDecoder(nativeDecoderPath());
    nativeBuilt = true;
  } catch {
    // not built: its column is NaN
  }
  const measure = async (
    which: "imagescript" | "native",
    bytes: Uint8Array[],
    spec: DecodeSpec,
  ): Promise<DecoderSpeed> => {
    Deno.env.set("BYOL_DECODER", which);
    // As bench/lib.ts's timeReps (which times synchronous work), for async passes: warm-up,
    // then up to reps repetitions, at least 2, within the budget; the median.
    const pass = async () => {
      for (const b of bytes) await decodeImage(b, spec);
    };
    for (let i = 0; i < p.warmup; i++) await pass();
    const all: number[] = [];
    const start = performance.now();
    for (let i = 0; i < p.reps; i++) {
      const t0 = performance.now();
      await pass();
      all.push(performance.now() - t0);
      if (all.length >= 2 && performance.now() - start > p.budgetMs) break;
    }
    const ms = all.sort((a, b) => a - b)[all.length >> 1];
    return { ips: bytes.length / (ms / 1000), ms };
  };
  const rows = [];
  for (const c of configs) {
    const bytes = files.get(c.set)!;
    const spec: DecodeSpec = { height: c.out, width: c.out, channels: 3, antialias: true };
    const imagescript = await measure("imagescript", bytes, spec);
    const native = nativeBuilt ? await measure("native", bytes, spec) : null;
    rows.push({ set: c.set, out: c.out, imagescript, native });
  }
  Deno.env.delete("BYOL_DECODER");
  return { decoder: decoderId(), nativeBuilt, rows };
}
