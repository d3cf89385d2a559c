// Test helpers for tests/data: temp folders, hand-built PNGs and image writers.
import { deflateSync } from "node:zlib";
import { chunk } from "./_png.ts";
import { dirname } from "node:path";
import { Image } from "../../deps/imagescript.ts";
import { assert, assertInstanceOf } from "./_assert.ts";
import { DataError } from "../../src/data/errors.ts";

/** A fresh temp folder; removed by the returned disposer. */
export async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "byol-data-test-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}

/**
 * A minimal 8-bit PNG encoder, so tests can write gray (0), RGB (2),
 * palette (3), gray+alpha (4) and RGBA (6) files; imagescript only writes RGBA.
 * `pixels` holds samples row-major (palette indices for type 3).
 */
export function encodePng(
  width: number,
  height: number,
  colorType: 0 | 2 | 3 | 4 | 6,
  pixels: Uint8Array,
  palette?: Uint8Array,
): Uint8Array {
  const spp = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType];
  if (pixels.length !== width * height * spp) throw new Error("encodePng: wrong pixel count");
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = colorType;
  const raw = new Uint8Array(height * (1 + width * spp));
  for (let y = 0; y < height; y++) {
    raw.set(pixels.subarray(y * width * spp, (y + 1) * width * spp), y * (1 + width * spp) + 1);
  }
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    ...(palette ? [chunk("PLTE", palette)] : []),
    chunk("IDAT", new Uint8Array(deflateSync(raw))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Writes bytes, creating parent folders. */
export async function writeBytes(path: string, bytes: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeFile(path, bytes);
}

/** An RGBA image from a per-pixel function. */
export function rgbaImage(
  width: number,
  height: number,
  f: (x: number, y: number) => [number, number, number, number],
): Image {
  const img = new Image(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b, a] = f(x, y);
      for (const v of [r, g, b, a]) {
        if (!Number.isInteger(v) || v < 0 || v > 255) throw new Error(`rgbaImage: bad value ${v}`);
      }
      const i = 4 * (y * width + x);
      img.bitmap[i] = r;
      img.bitmap[i + 1] = g;
      img.bitmap[i + 2] = b;
      img.bitmap[i + 3] = a;
    }
  }
  return img;
}

/** Writes an RGBA PNG with imagescript's encoder. */
export async function writePng(path: string, img: Image): Promise<void> {
  await writeBytes(path, await img.encode());
}

/** The expected CHW planes of an RGBA function image, for `channels` 3 or 4. */
export function planes(
  width: number,
  height: number,
  channels: 3 | 4,
  f: (x: number, y: number) => [number, number, number, number],
): Uint8Array {
  const out = new Uint8Array(channels * width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const px = f(x, y);
      for (let c = 0; c < channels; c++) out[c * width * height + y * width + x] = px[c];
    }
  }
  return out;
}

/** Deterministic pseudo-random bytes (xorshift), for pixel data. */
export function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

/**
 * Awaits `p`, asserts it rejects with a DataError whose message contains
 * every string in `parts`, and returns the error.
 */
export async function assertDataError(p: Promise<unknown>, ...parts: string[]): Promise<DataError> {
  let err: unknown = null;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert(err !== null, "expected a DataError, but the call succeeded");
  assertInstanceOf(err, DataError, `expected a DataError, got ${String(err)}`);
  assert(err.name === "DataError", `error name is ${err.name}`);
  for (const part of parts) {
    assert(
      err.message.includes(part),
      `DataError message lacks ${JSON.stringify(part)}:\n  ${err.message}`,
    );
  }
  return err;
}
