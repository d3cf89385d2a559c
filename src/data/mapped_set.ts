/**
 * Image sets whose bytes are a memory-mapped decode cache: the ImageSet's
 * `images` is a Uint8Array over the mapping (the file's pages, shared through
 * the page cache by every process that maps it; no copy in this process), and
 * the same bytes are a uint8 tensor for the loader and the evaluation. Views
 * made by subset() and sliceSet() stay mapped: they share the buffer, and
 * their offset in it names their first row.
 */
import { mapFile, tensorBytes } from "../../ffi/files.ts";
import { tensor } from "../../ffi/creation.ts";
import type { Device } from "../../ffi/device.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import type { CacheHeader } from "./decode_cache.ts";
import { imageBytes, type ImageSet } from "./image_set.ts";

/** The mapped tensor (N, C, H, W) behind each mapped buffer; kept for the process's life. */
const MAPPED = new WeakMap<ArrayBufferLike, Tensor>();

/**
 * Maps `shape` (N, C, H, W) uint8 images at byte `offset` of `path` and
 * returns their bytes, a view of the mapping. The mapping stays for the rest
 * of the process (the bytes may be referenced from anywhere); a process maps
 * a cache once.
 */
export function mapImages(
  path: string,
  offset: number,
  shape: [number, number, number, number],
): Uint8Array {
  const t = mapFile(path, { offset, shape }).keep();
  const bytes = tensorBytes(t);
  MAPPED.set(bytes.buffer, t);
  return bytes;
}

/**
 * A finished decode cache file as a set whose images are its mapped pages
 * (decodePlan's `mapped` option): nothing of the images is read or copied
 * here; the labels (4 bytes an image) are in memory.
 */
export function mappedCacheSet(path: string, header: CacheHeader): ImageSet {
  const { length, channels, height, width } = header;
  return {
    length,
    channels,
    height,
    width,
    images: mapImages(path, header.imagesOffset, [length, channels, height, width]),
    labels: header.labels,
    classes: header.classes,
    source: header.source,
    skipped: header.skipped,
    sourceSides: header.sourceSides,
  };
}

/** Whether `set`'s images are a mapped cache (not a copy in this process's memory). */
export function isMapped(set: ImageSet): boolean {
  return MAPPED.has(set.images.buffer);
}

/**
 * `set`'s images as a uint8 (N, C, H, W) CPU tensor over the mapping (a new
 * handle on the same memory: no copy), or null for a set held in memory.
 */
export function mappedImages(set: ImageSet): Tensor | null {
  const t = MAPPED.get(set.images.buffer);
  if (t === undefined) return null;
  const per = imageBytes(set);
  const first = per === 0 ? 0 : set.images.byteOffset / per;
  if (!Number.isInteger(first) || first + set.length > t.size(0)) {
    throw new Error(`${set.source}: images are not whole rows of their mapped cache`);
  }
  return t.narrow(0, first, set.length);
}

/**
 * `set`'s images as a uint8 (N, C, H, W) tensor on `device`: a mapped set is
 * the mapping itself on the CPU (no copy) and one copy on a GPU; a set in
 * memory is copied (tensor()).
 */
export function imagesTensor(set: ImageSet, device: Device | string = "cpu"): Tensor {
  const mapped = mappedImages(set);
  if (mapped === null) {
    return tensor(set.images, { shape: [set.length, set.channels, set.height, set.width], device });
  }
  if (device === "cpu") return mapped;
  try {
    return mapped.to({ device });
  } finally {
    mapped.dispose();
  }
}
