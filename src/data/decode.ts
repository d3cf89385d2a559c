/**
 * One image file -> CHW uint8 at the asked size and channel count. Shared by
 * the main thread and decode_worker.ts so both give identical bytes.
 */
import type { Image } from "../../deps/imagescript.ts";
import type { DecodeSpec } from "./decode_spec.ts";
import { describeError } from "./errors.ts";
import { nativeDecoder } from "./native_decoder.ts";
import { resizePlanes } from "./resize.ts";

export type { DecodeSpec } from "./decode_spec.ts";

/** Extensions we decode; a file with one of them must decode or it is an error. */
export const IMAGE_EXTENSIONS: readonly string[] = [".png", ".jpg", ".jpeg", ".jpe", ".jfif"];

/** Image formats we recognise but cannot decode: reported, not skipped silently. */
export const UNSUPPORTED_IMAGE_EXTENSIONS: readonly string[] = [
  ".gif",
  ".bmp",
  ".webp",
  ".tif",
  ".tiff",
  ".ppm",
  ".pgm",
  ".pbm",
  ".heic",
  ".heif",
  ".avif",
];

export type Sniffed = "png" | "jpeg" | null;

/** Identifies PNG (89 50 4E 47 0D 0A 1A 0A) and JPEG (FF D8 FF) by content. */
export function sniff(bytes: Uint8Array): Sniffed {
  if (
    bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e &&
    bytes[3] === 0x47 && bytes[4] === 0x0d && bytes[5] === 0x0a && bytes[6] === 0x1a &&
    bytes[7] === 0x0a
  ) return "png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return "jpeg";
  }
  return null;
}

/** A per-file failure; the caller turns it into a DataError naming the file. */
export class DecodeFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DecodeFailure";
  }
}

type ImageScript = typeof import("../../deps/imagescript.ts");
let imagescript: Promise<ImageScript> | null = null;

/**
 * imagescript, imported on first use: at import it loads a native addon
 * (needs --allow-ffi), which IDX and CIFAR users should not have to grant.
 * Failure is an environment problem, so a plain Error, not a DecodeFailure.
 */
function decoder(): Promise<ImageScript> {
  imagescript ??= import("../../deps/imagescript.ts").catch((err) => {
    imagescript = null;
    throw new Error(
      `cannot load the image decoder imagescript (${describeError(err)}); it loads a native ` +
        `addon, so run deno with --allow-ffi (or --allow-all)`,
      { cause: err },
    );
  });
  return imagescript;
}

// Refuse absurd headers before the decoder allocates width*height*4 bytes.
const MAX_PIXELS = 1 << 28;

function pngSize(bytes: Uint8Array): [number, number] | null {
  // IHDR is always the first chunk: width and height at offsets 16 and 20.
  if (bytes.length < 24) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return [v.getUint32(16), v.getUint32(20)];
}

/**
 * RGBA (as imagescript returns it, 4 bytes per pixel, row-major) -> CHW with
 * `channels` planes. 1: ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B, in
 * Pillow's 16-bit fixed point (weights 19595/38470/7471 of 65536, rounded),
 * so it equals PIL's convert("L") byte for byte; exact for gray input since
 * the weights sum to 65536. 3: RGB, alpha dropped (not composited, as
 * convert("RGB") does). 4: RGBA (imagescript gives alpha 255 for opaque files).
 */
export function rgbaToPlanes(
  rgba: Uint8Array | Uint8ClampedArray,
  pixels: number,
  channels: number,
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(channels * pixels);
  if (channels === 1) {
    for (let i = 0, j = 0; i < pixels; i++, j += 4) {
      out[i] = (19595 * rgba[j] + 38470 * rgba[j + 1] + 7471 * rgba[j + 2] + 0x8000) >> 16;
    }
  } else {
    for (let c = 0; c < channels; c++) {
      const base = c * pixels;
      for (let i = 0, j = c; i < pixels; i++, j += 4) out[base + i] = rgba[j];
    }
  }
  return out;
}

/** A decoded image at the asked size, and the size of the source image. */
export interface Decoded {
  /** `channels x height x width` uint8 at the spec's size. */
  pixels: Uint8Array<ArrayBuffer>;
  sourceHeight: number;
  sourceWidth: number;
}

/**
 * Decodes PNG/JPEG bytes and returns `channels x height x width` uint8.
 * Throws DecodeFailure for bytes it cannot use (a plain Error only when the
 * decoder itself cannot be loaded). The native decoder (native_decoder.ts)
 * when it is built, imagescript otherwise and for the files it leaves over.
 */
export async function decodeImage(
  bytes: Uint8Array,
  spec: DecodeSpec,
): Promise<Uint8Array<ArrayBuffer>> {
  return (await decodeImageSized(bytes, spec)).pixels;
}

/** decodeImage, also giving the source image's size. */
export async function decodeImageSized(bytes: Uint8Array, spec: DecodeSpec): Promise<Decoded> {
  const kind = sniff(bytes);
  if (kind === null) {
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0"))
      .join(" ");
    throw new DecodeFailure(
      `corrupt or unsupported image: not a PNG or JPEG (${bytes.length} bytes, starts with ` +
        `${head || "nothing"})`,
    );
  }
  if (kind === "png") {
    const size = pngSize(bytes);
    if (size && size[0] * size[1] > MAX_PIXELS) {
      throw new DecodeFailure(
        `corrupt or unsupported image: PNG header claims ${size[0]} x ${size[1]} pixels`,
      );
    }
  }
  const native = nativeDecoder();
  if (native !== null) {
    const r = native.decode(bytes, spec);
    if (r.code === 0) return { pixels: r.data, sourceHeight: r.height, sourceWidth: r.width };
    if (r.code === 1) throw new DecodeFailure(r.message);
    // 2: not decoded there as Pillow would; imagescript's turn.
  }
  const { Image: ImageClass } = await decoder();
  let image: Image;
  try {
    image = await ImageClass.decode(bytes);
  } catch (err) {
    throw new DecodeFailure(
      `corrupt or unsupported image: ${kind.toUpperCase()} decode failed (${describeError(err)})`,
      { cause: err },
    );
  }
  const w = image.width;
  const h = image.height;
  if (!(w > 0 && h > 0) || image.bitmap.length !== w * h * 4) {
    throw new DecodeFailure(
      `corrupt or unsupported image: ${kind.toUpperCase()} decoded to ${w} x ${h} pixels`,
    );
  }
  const planes = rgbaToPlanes(image.bitmap, w * h, spec.channels);
  const pixels = resizePlanes(planes, spec.channels, h, w, spec.height, spec.width, spec.antialias);
  return { pixels, sourceHeight: h, sourceWidth: w };
}

/** Reads and decodes one file; read errors and decode errors both become DecodeFailure. */
export async function decodeFile(
  path: string,
  spec: DecodeSpec,
): Promise<Uint8Array<ArrayBuffer>> {
  return (await decodeFileSized(path, spec)).pixels;
}

/** decodeFile, also giving the source image's size. */
export async function decodeFileSized(path: string, spec: DecodeSpec): Promise<Decoded> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "file not found" : describeError(err);
    throw new DecodeFailure(`cannot read image (${why})`, { cause: err });
  }
  return await decodeImageSized(bytes, spec);
}
