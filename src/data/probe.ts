// What a set of image files holds before anything is decoded: channels and
// size read from the PNG or JPEG headers of a sample, so that the training
// defaults (augmentation, view size, channels) can follow the data.
import { extname, join } from "node:path";
import { IMAGE_EXTENSIONS } from "./decode.ts";

export interface ImageHeader {
  width: number;
  height: number;
  /** 1 for grayscale files (PNG gray / gray+alpha, one-component JPEG), else 3. */
  channels: 1 | 3;
  alpha: boolean;
}

/** Reads width, height and colour type from a PNG or JPEG header; null if neither. */
export function readImageHeader(b: Uint8Array): ImageHeader | null {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length >= 26 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    // IHDR: width, height at 16 and 20, colour type at 25 (0 gray, 4 gray+alpha, 6 RGBA).
    const type = b[25];
    return {
      width: v.getUint32(16),
      height: v.getUint32(20),
      channels: type === 0 || type === 4 ? 1 : 3,
      alpha: type === 4 || type === 6,
    };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1];
      if (marker === 0xff) {
        i++;
        continue;
      }
      const len = v.getUint16(i + 2);
      // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width, components.
      if (
        marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
      ) {
        return {
          height: v.getUint16(i + 5),
          width: v.getUint16(i + 7),
          channels: b[i + 9] === 1 ? 1 : 3,
          alpha: false,
        };
      }
      i += 2 + len;
    }
  }
  return null;
}

export interface ImageProbe {
  /** 1 when every sampled file is grayscale, else 3. */
  channels: 1 | 3;
  /** The median of the sampled images' shorter sides. */
  side: number;
  /** Sampled files with an alpha channel (dropped when read as RGB). */
  withAlpha: number;
  sampled: number;
}

async function head(path: string, bytes: number): Promise<Uint8Array> {
  using f = await Deno.open(path, { read: true });
  const buf = new Uint8Array(bytes);
  let n = 0;
  while (n < bytes) {
    const r = await f.read(buf.subarray(n));
    if (r === null) break;
    n += r;
  }
  return buf.subarray(0, n);
}

/** Probes the headers of `paths` (unreadable or unrecognised files are skipped); null if none read. */
export async function probeImageFiles(paths: readonly string[]): Promise<ImageProbe | null> {
  const sides: number[] = [];
  let gray = 0;
  let withAlpha = 0;
  for (const p of paths) {
    // JPEG headers can sit after large EXIF blocks; 256 KiB covers nearly all.
    const h = await head(p, 256 << 10).then(readImageHeader).catch(() => null);
    if (h === null || h.width === 0 || h.height === 0) continue;
    sides.push(Math.min(h.width, h.height));
    if (h.channels === 1) gray++;
    if (h.alpha) withAlpha++;
  }
  if (sides.length === 0) return null;
  sides.sort((a, b) => a - b);
  return {
    channels: gray === sides.length ? 1 : 3,
    side: sides[Math.floor(sides.length / 2)],
    withAlpha,
    sampled: sides.length,
  };
}

/**
 * Up to `perFolder` image files (by extension) from each folder under `root`,
 * `max` in all, so that every class folder is represented.
 */
export async function sampleImageFiles(root: string, max = 64, perFolder = 4): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries: Deno.DirEntry[] = [];
    try {
      for await (const e of Deno.readDir(dir)) entries.push(e);
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let here = 0;
    for (const e of entries) {
      if (out.length >= max || e.name.startsWith(".")) continue;
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (here < perFolder && IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase())) {
        out.push(p);
        here++;
      }
    }
  };
  await walk(root);
  return out;
}
