/**
 * On-disk cache of decoded image sets, so a large folder is decoded once.
 *
 * File layout (little-endian):
 *   8 bytes  magic "BYOLDC01"
 *   4 bytes  uint32 header length L
 *   L bytes  JSON header (shape, classes, source, key, payload sha256)
 *   pad to a multiple of 8
 *   N*C*H*W  uint8 images
 *   N*4      int32 labels (only when the set is labeled)
 * A file that fails any check (magic, header, key, size, payload hash) is
 * treated as absent and gets rewritten; the cache is never trusted blindly.
 */
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { DataError, describeError } from "./errors.ts";
import type { ImageSet } from "./image_set.ts";
import { writeFileAtomic } from "../io/atomic.ts";

const MAGIC = "BYOLDC01";
/** Bump when decoding or resizing changes, so old caches stop matching. */
export const CACHE_FORMAT = 1;

interface Header {
  format: number;
  key: string;
  length: number;
  channels: number;
  height: number;
  width: number;
  labeled: boolean;
  classes: string[] | null;
  source: string;
  sha256: string;
}

/**
 * Where caches live: `$BYOL_CACHE_DIR`, else `$XDG_CACHE_HOME/byol-deno`, else
 * `~/.cache/byol-deno`; null when none can be determined.
 */
export function defaultCacheDir(): string | null {
  const env = (k: string) => {
    const v = Deno.env.get(k);
    return v && v.length > 0 ? v : null;
  };
  const explicit = env("BYOL_CACHE_DIR");
  if (explicit) return resolve(explicit);
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return join(resolve(xdg), "byol-deno");
  const home = env("HOME") ?? env("USERPROFILE");
  return home ? join(home, ".cache", "byol-deno") : null;
}

/**
 * Cache key: sha256 over the loader kind, its options and every input file's
 * absolute path, size and mtime (so editing, adding or removing a file, or
 * changing options, gives a new key).
 */
export async function cacheKey(kind: string, options: unknown, files: string[]): Promise<string> {
  const h = createHash("sha256");
  h.update(JSON.stringify({ format: CACHE_FORMAT, kind, options }));
  const stat = async (f: string) => {
    const abs = resolve(f);
    try {
      const st = await Deno.stat(abs);
      return `\n${JSON.stringify(abs)} ${st.size} ${st.mtime?.getTime() ?? -1}`;
    } catch (err) {
      throw new DataError(`${abs}: cannot stat input file (${describeError(err)})`, { cause: err });
    }
  };
  // Stats run 64 at a time: one by one, 50k files take seconds.
  for (let i = 0; i < files.length; i += 64) {
    for (const line of await Promise.all(files.slice(i, i + 64).map(stat))) h.update(line);
  }
  return h.digest("hex");
}

/** The cache file path for `key` inside `dir`. */
export function cachePath(dir: string, key: string): string {
  return join(dir, `${key}.bin`);
}

function sha256(...parts: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

const align8 = (n: number) => (n + 7) & ~7;

/** Reads a cached set; null when absent, unreadable, stale or corrupt. */
export async function readCache(dir: string, key: string): Promise<ImageSet | null> {
  let buf: Uint8Array;
  try {
    buf = await Deno.readFile(cachePath(dir, key));
  } catch {
    return null;
  }
  try {
    if (buf.length < 12 || new TextDecoder().decode(buf.subarray(0, 8)) !== MAGIC) return null;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const hlen = view.getUint32(8, true);
    if (12 + hlen > buf.length) return null;
    const h = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(12, 12 + hlen)),
    ) as Header;
    const isDim = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
    if (
      h === null || typeof h !== "object" || h.format !== CACHE_FORMAT || h.key !== key ||
      !isDim(h.length) || !isDim(h.channels) || !isDim(h.height) || !isDim(h.width) ||
      typeof h.labeled !== "boolean" || typeof h.source !== "string" ||
      typeof h.sha256 !== "string" ||
      !(h.classes === null ||
        (Array.isArray(h.classes) && h.classes.every((c) => typeof c === "string")))
    ) return null;
    const start = align8(12 + hlen);
    const imgBytes = h.length * h.channels * h.height * h.width;
    const labBytes = h.labeled ? 4 * h.length : 0;
    if (buf.length !== start + imgBytes + labBytes) return null;
    const payload = buf.subarray(start);
    if (sha256(payload) !== h.sha256) return null;
    const images = buf.subarray(start, start + imgBytes);
    let labels: Int32Array | null = null;
    if (h.labeled) {
      labels = new Int32Array(h.length);
      const lv = new DataView(buf.buffer, buf.byteOffset + start + imgBytes, labBytes);
      for (let i = 0; i < h.length; i++) labels[i] = lv.getInt32(4 * i, true);
    }
    return {
      length: h.length,
      channels: h.channels,
      height: h.height,
      width: h.width,
      images,
      labels,
      classes: h.classes,
      source: h.source,
    };
  } catch {
    return null;
  }
}

/**
 * Writes `set` under `key`, atomically (temp file in the same folder, then
 * rename), so readers never see a half-written file. Best effort: returns the
 * path, or null when the cache folder is not writable.
 */
export async function writeCache(dir: string, key: string, set: ImageSet): Promise<string | null> {
  const labBytes = set.labels ? 4 * set.length : 0;
  const labels = new Uint8Array(labBytes);
  if (set.labels) {
    const lv = new DataView(labels.buffer);
    for (let i = 0; i < set.length; i++) lv.setInt32(4 * i, set.labels[i], true);
  }
  const images = set.images.subarray(0, set.length * set.channels * set.height * set.width);
  const header: Header = {
    format: CACHE_FORMAT,
    key,
    length: set.length,
    channels: set.channels,
    height: set.height,
    width: set.width,
    labeled: set.labels !== null,
    classes: set.classes,
    source: set.source,
    sha256: sha256(images, labels),
  };
  const hbytes = new TextEncoder().encode(JSON.stringify(header));
  const start = align8(12 + hbytes.length);
  const head = new Uint8Array(start);
  head.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(head.buffer).setUint32(8, hbytes.length, true);
  head.set(hbytes, 12);
  const path = cachePath(dir, key);
  try {
    await Deno.mkdir(dir, { recursive: true });
    await writeFileAtomic(path, [head, images, labels]);
    return path;
  } catch {
    return null;
  }
}
