// A PNG encoder for decoder tests: every color type at every bit depth the
// format allows, palettes with tRNS, a tRNS color for gray and RGB, Adam7
// interlacing, and the five row filters in turn (so the decoder's unfiltering
// is exercised too).
import { deflateSync } from "node:zlib";

export type ColorType = 0 | 2 | 3 | 4 | 6;

/** Samples per pixel of each color type. */
export const SAMPLES: Record<ColorType, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export interface PngSpec {
  width: number;
  height: number;
  colorType: ColorType;
  /** 1, 2, 4, 8 or 16 (as the color type allows). */
  depth: 1 | 2 | 4 | 8 | 16;
  /** Samples row-major, each 0..2^depth-1 (palette indices for type 3). */
  samples: ArrayLike<number>;
  /** PLTE: r, g, b per entry (type 3). */
  palette?: Uint8Array;
  /** tRNS's payload: alphas per palette entry (type 3), or the 2- or 6-byte key color. */
  trns?: Uint8Array;
  interlace?: boolean;
  /** Extra ancillary chunks before IDAT (e.g. gAMA), as [type, data]. */
  extra?: [string, Uint8Array][];
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** PNG's CRC-32 (of a chunk's type and data). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, data and CRC. */
export function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** One row of samples packed at `depth` bits (big-endian for 16, MSB first below 8). */
function packRow(samples: number[], depth: number): Uint8Array<ArrayBuffer> {
  if (depth === 8) return Uint8Array.from(samples);
  if (depth === 16) {
    const out = new Uint8Array(samples.length * 2);
    samples.forEach((s, i) => {
      out[2 * i] = s >> 8;
      out[2 * i + 1] = s & 255;
    });
    return out;
  }
  const out = new Uint8Array(Math.ceil(samples.length * depth / 8));
  samples.forEach((s, i) => {
    const bit = i * depth;
    out[bit >> 3] |= s << (8 - depth - (bit & 7));
  });
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Rows filtered with filter (row index % 5): None, Sub, Up, Average, Paeth. */
function filterRows(rows: Uint8Array<ArrayBuffer>[], bpp: number): Uint8Array {
  const len = rows.reduce((a, r) => a + 1 + r.length, 0);
  const out = new Uint8Array(len);
  let o = 0;
  let prev = new Uint8Array(rows[0]?.length ?? 0);
  rows.forEach((row, y) => {
    const f = y % 5;
    out[o++] = f;
    for (let i = 0; i < row.length; i++) {
      const a = i >= bpp ? row[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      const pred = f === 0
        ? 0
        : f === 1
        ? a
        : f === 2
        ? b
        : f === 3
        ? (a + b) >> 1
        : paeth(a, b, c);
      out[o++] = (row[i] - pred) & 255;
    }
    prev = row;
  });
  return out;
}

const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** Encodes `s` as a PNG file. */
export function encodePngAny(s: PngSpec): Uint8Array {
  const spp = SAMPLES[s.colorType];
  const { width: w, height: h, depth } = s;
  if (s.samples.length !== w * h * spp) throw new Error("encodePngAny: wrong sample count");
  const bpp = Math.max(1, (spp * depth) >> 3);
  const rowOf = (y: number, xs: number[]) => {
    const out: number[] = [];
    for (const x of xs) for (let c = 0; c < spp; c++) out.push(s.samples[(y * w + x) * spp + c]);
    return packRow(out, depth);
  };
  const range = (a: number, end: number, step: number) => {
    const r: number[] = [];
    for (let i = a; i < end; i += step) r.push(i);
    return r;
  };
  const parts: Uint8Array[] = [];
  if (s.interlace) {
    for (const [x0, y0, dx, dy] of ADAM7) {
      const xs = range(x0, w, dx), ys = range(y0, h, dy);
      if (xs.length === 0 || ys.length === 0) continue;
      parts.push(filterRows(ys.map((y) => rowOf(y, xs)), bpp));
    }
  } else {
    parts.push(filterRows(range(0, h, 1).map((y) => rowOf(y, range(0, w, 1))), bpp));
  }
  const raw = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    raw.set(p, o);
    o += p.length;
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, w);
  v.setUint32(4, h);
  ihdr[8] = depth;
  ihdr[9] = s.colorType;
  ihdr[12] = s.interlace ? 1 : 0;
  const chunks = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    ...(s.extra ?? []).map(([t, d]) => chunk(t, d)),
    ...(s.palette ? [chunk("PLTE", s.palette)] : []),
    ...(s.trns ? [chunk("tRNS", s.trns)] : []),
    chunk("IDAT", new Uint8Array(deflateSync(raw))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(chunks.reduce((a, p) => a + p.length, 0));
  o = 0;
  for (const p of chunks) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
