/**
 * On-disk cache of decoded image sets, so a large folder is decoded once.
 * decode_to_cache.ts writes it, streaming; a reader maps or reads the images.
 *
 * File layout, format 2 (little-endian):
 *   0..8      magic "BYOLDC02"
 *   8..16     uint64: byte offset of the JSON header (0 while the file is incomplete)
 *   16..4096  zero
 *   4096..    N * C*H*W uint8 images, NCHW, in input order, skipped files left out
 *   then      N * 4 int32 labels (only when labeled)
 *   then      the JSON header (utf-8) to the end of the file
 * A file that fails any check (magic, header offset, header fields, sizes) is
 * treated as absent and decoded again. Format 1 files (magic "BYOLDC01") are
 * never found. The images are not hashed: 190 GB cannot be read at each open.
 */
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { DataError, describeError } from "./errors.ts";
import type { ImageSet } from "./image_set.ts";
import { writeFileAtomic } from "../io/atomic.ts";

/** The file's first 8 bytes. */
export const CACHE_MAGIC = "BYOLDC02";
/** Bump when decoding or resizing changes, so old caches stop matching. */
export const CACHE_FORMAT = 2;
/** Byte offset of the first image: one page, so a mapping of the images is aligned. */
export const IMAGES_OFFSET = 4096;

/** The JSON header at the end of a cache file. */
export interface CacheHeaderJson {
  format: number;
  /** The cache key (the file name without .bin). */
  key: string;
  /** Images in the file (N): the input files less the skipped ones. */
  length: number;
  channels: number;
  height: number;
  width: number;
  labeled: boolean;
  classes: string[] | null;
  /** The folder or CSV the images came from. */
  source: string;
  /** Input files, skipped ones included. */
  files: number;
  /** Corrupt input files left out: label (the path, or CSV line and path) and why. */
  skipped: { path: string; reason: string }[];
  /** The shorter side of the source images, min and max over the decoded files. */
  sourceSides: { min: number; max: number };
}

/** A validated cache file's header, where its images start, and its labels. */
export interface CacheHeader extends CacheHeaderJson {
  /** Byte offset of image 0 (IMAGES_OFFSET). */
  imagesOffset: number;
  /** One label per image, or null when unlabeled. */
  labels: Int32Array | null;
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
 * Cache key: sha256 over the format, the loader kind, its options and every
 * input file's absolute path, size and mtime (so editing, adding or removing a
 * file, or changing options, gives a new key).
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

/** Bytes per image of a header. */
export function headerImageBytes(h: CacheHeaderJson): number {
  return h.channels * h.height * h.width;
}

/** Reads exactly `buf.length` bytes at `offset`; false when the file ends first. */
async function readAt(f: Deno.FsFile, offset: number, buf: Uint8Array): Promise<boolean> {
  await f.seek(offset, Deno.SeekMode.Start);
  let n = 0;
  while (n < buf.length) {
    const r = await f.read(buf.subarray(n));
    if (r === null) return false;
    n += r;
  }
  return true;
}

// A header holds the class names and the skipped list: far below this.
const MAX_HEADER_BYTES = 1 << 28;

function validHeaderJson(h: unknown): h is CacheHeaderJson {
  if (h === null || typeof h !== "object") return false;
  const o = h as Record<string, unknown>;
  const isDim = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const sides = o.sourceSides as Record<string, unknown> | null;
  return o.format === CACHE_FORMAT && typeof o.key === "string" && isDim(o.length) &&
    isDim(o.channels) && isDim(o.height) && isDim(o.width) && typeof o.labeled === "boolean" &&
    typeof o.source === "string" && isDim(o.files) && (o.files as number) >= (o.length as number) &&
    (o.classes === null ||
      (Array.isArray(o.classes) && o.classes.every((c) => typeof c === "string"))) &&
    Array.isArray(o.skipped) &&
    o.skipped.every((s) =>
      s !== null && typeof s === "object" && typeof s.path === "string" &&
      typeof s.reason === "string"
    ) &&
    (o.files as number) === (o.length as number) + o.skipped.length &&
    sides !== null && typeof sides === "object" && isDim(sides.min) && isDim(sides.max);
}

/**
 * Reads and checks a cache file's fixed head and JSON header (not the
 * images): magic, header offset, format, fields, and that the file's size is
 * exactly IMAGES_OFFSET + images + labels + header. Null when the file is
 * absent, incomplete (offset 0: still being written) or invalid.
 */
export async function openCacheHeader(path: string): Promise<CacheHeader | null> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { read: true });
  } catch {
    return null;
  }
  try {
    const size = (await f.stat()).size;
    const head = new Uint8Array(16);
    if (size < IMAGES_OFFSET || !await readAt(f, 0, head)) return null;
    if (new TextDecoder().decode(head.subarray(0, 8)) !== CACHE_MAGIC) return null;
    const offset = Number(new DataView(head.buffer).getBigUint64(8, true));
    if (offset < IMAGES_OFFSET || offset >= size || size - offset > MAX_HEADER_BYTES) return null;
    const hbytes = new Uint8Array(size - offset);
    if (!await readAt(f, offset, hbytes)) return null;
    const json: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(hbytes));
    if (!validHeaderJson(json)) return null;
    const imgBytes = json.length * headerImageBytes(json);
    const labBytes = json.labeled ? 4 * json.length : 0;
    if (offset !== IMAGES_OFFSET + imgBytes + labBytes) return null;
    let labels: Int32Array | null = null;
    if (json.labeled) {
      const raw = new Uint8Array(labBytes);
      if (!await readAt(f, IMAGES_OFFSET + imgBytes, raw)) return null;
      labels = new Int32Array(json.length);
      const lv = new DataView(raw.buffer);
      for (let i = 0; i < json.length; i++) labels[i] = lv.getInt32(4 * i, true);
    }
    return { ...json, imagesOffset: IMAGES_OFFSET, labels };
  } catch {
    return null;
  } finally {
    f.close();
  }
}

/**
 * The images of a validated cache file, read into memory with a plain file
 * read (the in-memory variant; a mapped one can stand in its place). Throws
 * a DataError when the file is shorter than its header says.
 */
export async function readImages(path: string, header: CacheHeader): Promise<Uint8Array> {
  const images = new Uint8Array(header.length * headerImageBytes(header));
  let ok: boolean;
  try {
    using f = await Deno.open(path, { read: true });
    ok = await readAt(f, header.imagesOffset, images);
  } catch (err) {
    throw new DataError(`${path}: cannot read the decode cache (${describeError(err)})`, {
      cause: err,
    });
  }
  if (!ok) throw new DataError(`${path}: the decode cache file is shorter than its header says`);
  return images;
}

/** The in-memory ImageSet of a validated cache file. */
export async function cachedSet(path: string, header: CacheHeader): Promise<ImageSet> {
  return {
    length: header.length,
    channels: header.channels,
    height: header.height,
    width: header.width,
    images: await readImages(path, header),
    labels: header.labels,
    classes: header.classes,
    source: header.source,
    skipped: header.skipped,
    sourceSides: header.sourceSides,
  };
}

/** Reads a cached set into memory; null when absent, incomplete, invalid or of another key. */
export async function readCache(dir: string, key: string): Promise<ImageSet | null> {
  const path = cachePath(dir, key);
  const header = await openCacheHeader(path);
  if (header === null || header.key !== key) return null;
  try {
    return await cachedSet(path, header);
  } catch {
    return null;
  }
}

/** The fixed first IMAGES_OFFSET bytes: magic, header offset (0: incomplete), zeros. */
export function cacheHead(headerOffset: number): Uint8Array<ArrayBuffer> {
  const head = new Uint8Array(IMAGES_OFFSET);
  head.set(new TextEncoder().encode(CACHE_MAGIC), 0);
  new DataView(head.buffer).setBigUint64(8, BigInt(headerOffset), true);
  return head;
}

/** Labels as the file stores them: int32 little-endian. */
export function labelBytes(labels: Int32Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(4 * labels.length);
  const v = new DataView(out.buffer);
  for (let i = 0; i < labels.length; i++) v.setInt32(4 * i, labels[i], true);
  return out;
}

/**
 * Writes an in-memory `set` under `key` in one go, atomically (temp file in
 * the same folder, then rename). Best effort: returns the path, or null when
 * the cache folder is not writable. Loaders stream through decodeToCache
 * instead; this is for sets already in memory.
 */
export async function writeCache(dir: string, key: string, set: ImageSet): Promise<string | null> {
  const images = set.images.subarray(0, set.length * set.channels * set.height * set.width);
  const labels = set.labels ? labelBytes(set.labels.subarray(0, set.length)) : new Uint8Array(0);
  const skipped = set.skipped ?? [];
  const header: CacheHeaderJson = {
    format: CACHE_FORMAT,
    key,
    length: set.length,
    channels: set.channels,
    height: set.height,
    width: set.width,
    labeled: set.labels !== null,
    classes: set.classes,
    source: set.source,
    files: set.length + skipped.length,
    skipped,
    sourceSides: set.sourceSides ?? { min: 0, max: 0 },
  };
  const hbytes = new TextEncoder().encode(JSON.stringify(header));
  const head = cacheHead(IMAGES_OFFSET + images.length + labels.length);
  const path = cachePath(dir, key);
  try {
    await Deno.mkdir(dir, { recursive: true });
    await writeFileAtomic(path, [head, images, labels, hbytes]);
    return path;
  } catch {
    return null;
  }
}
