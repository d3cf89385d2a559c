/**
 * The native image decoder: libttimage.so (native/image/, libjpeg-turbo +
 * libpng, no libtorch), built by `deno task build` next to the shim when
 * libjpeg's and libpng's headers are there. decode.ts's decodeImage uses it
 * when it is built and falls back to imagescript where it is not, and for the
 * files it leaves to imagescript (code 2: CMYK JPEG, 16-bit gray PNG, ...).
 *
 * BYOL_DECODER=native|imagescript forces one (native when it is not built is
 * an error saying how to build it); unset or "auto": native when built.
 * Opened lazily, once per isolate (each decode worker opens its own).
 */
import type { DecodeSpec } from "./decode_spec.ts";
import { shimInfoPath, shimPath } from "../../ffi/shim_path.ts";

/** imagescript's version: keep in step with deps/imagescript.ts (a test checks). */
export const IMAGESCRIPT_VERSION = "1.3.1";

/** The decoder's file: next to the shim (BYOL_BUILD_DIR, else build/; or TORCH_SHIM_PATH's folder). */
export function nativeDecoderPath(): string {
  return shimPath().replace(/[^/]*$/, "libttimage.so");
}

/** One decode: the planes, or why not (1: a bad file; 2: left to imagescript). */
export type NativeResult =
  | { code: 0; data: Uint8Array<ArrayBuffer>; height: number; width: number }
  | { code: 1 | 2; message: string };

export interface NativeDecoder {
  /** The file it was opened from. */
  readonly path: string;
  /** "libjpeg-turbo 2.1.5 + libpng 1.6.39". */
  readonly version: string;
  /** PNG/JPEG bytes -> `channels x height x width` planes, as decodeImage gives them. */
  decode(bytes: Uint8Array, spec: DecodeSpec): NativeResult;
  /** The C resize alone (resize.ts's resizePlanes, bit for bit). */
  resize(
    src: Uint8Array,
    planes: number,
    inH: number,
    inW: number,
    outH: number,
    outW: number,
    antialias?: boolean,
  ): Uint8Array<ArrayBuffer>;
}

const SYMBOLS = {
  tti_decode: {
    parameters: [
      "buffer",
      "usize",
      "i32",
      "i32",
      "i32",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "usize",
    ],
    result: "i32",
  },
  tti_resize: {
    parameters: ["buffer", "i32", "i32", "i32", "i32", "i32", "i32", "buffer"],
    result: "i32",
  },
  tti_version: { parameters: ["buffer", "usize"], result: "void" },
} as const;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/** Which decoder BYOL_DECODER asks for. */
function wanted(): "native" | "imagescript" | "auto" {
  const v = env("BYOL_DECODER") ?? "auto";
  if (v === "native" || v === "imagescript" || v === "auto") return v;
  throw new Error(`BYOL_DECODER must be native, imagescript or auto (got "${v}")`);
}

/** Why the library is not built, from build-info.json's imageDecoder (when it says). */
function notBuiltReason(): string | null {
  try {
    const info = JSON.parse(Deno.readTextFileSync(shimInfoPath()));
    return info?.imageDecoder?.built === false ? String(info.imageDecoder.reason) : null;
  } catch {
    return null;
  }
}

/**
 * Opens the decoder at `path` (default: nativeDecoderPath()), whatever
 * BYOL_DECODER says; throws when it cannot be opened. For tests and the bench:
 * the decode path uses nativeDecoder().
 */
export function openNativeDecoder(path: string = nativeDecoderPath()): NativeDecoder {
  const lib = Deno.dlopen(path, SYMBOLS);
  const s = lib.symbols;
  const text = (buf: Uint8Array) => {
    const end = buf.indexOf(0);
    return new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end));
  };
  const vbuf = new Uint8Array(128);
  s.tti_version(vbuf, BigInt(vbuf.length));
  const version = text(vbuf);
  // Reused: calls are synchronous and an isolate runs one at a time.
  const hw = new Int32Array(2);
  const err = new Uint8Array(512);
  return {
    path,
    version,
    decode(bytes, spec) {
      const out = new Uint8Array(spec.channels * spec.height * spec.width);
      const code = s.tti_decode(
        bytes,
        BigInt(bytes.length),
        spec.channels,
        spec.height,
        spec.width,
        spec.antialias === false ? 0 : 1,
        out,
        hw,
        err,
        BigInt(err.length),
      );
      if (code === 0) return { code: 0, data: out, height: hw[0], width: hw[1] };
      return { code: code === 2 ? 2 : 1, message: text(err) };
    },
    resize(src, planes, inH, inW, outH, outW, antialias = true) {
      if (src.length < planes * inH * inW) throw new RangeError("resize: source too short");
      const out = new Uint8Array(planes * outH * outW);
      if (s.tti_resize(src, planes, inH, inW, outH, outW, antialias ? 1 : 0, out) !== 0) {
        throw new Error(`tti_resize failed (${planes} x ${inH} x ${inW} -> ${outH} x ${outW})`);
      }
      return out;
    },
  };
}

let cached: { decoder: NativeDecoder | null } | null = null;

/**
 * The native decoder, opened on first use; null when it is not built (or
 * BYOL_DECODER=imagescript). Throws when BYOL_DECODER=native and it cannot be
 * opened, saying how to build it.
 */
export function nativeDecoder(): NativeDecoder | null {
  const want = wanted();
  if (want === "imagescript") return null;
  if (cached !== null && (cached.decoder !== null || want === "auto")) return cached.decoder;
  const path = nativeDecoderPath();
  let exists = false;
  try {
    exists = Deno.statSync(path).isFile;
  } catch {
    // not built
  }
  if (!exists) {
    if (want === "native") {
      const why = notBuiltReason();
      throw new Error(
        `BYOL_DECODER=native but the native image decoder is not built (${path} is missing` +
          `${why ? `: ${why}` : ""}). It needs libjpeg's and libpng's headers: sudo apt-get ` +
          "install libjpeg62-turbo-dev libpng-dev, then deno task build",
      );
    }
    cached = { decoder: null };
    return null;
  }
  try {
    cached = { decoder: openNativeDecoder(path) };
  } catch (err) {
    // Built but not loadable here (no --allow-ffi, a missing libjpeg.so.62): imagescript
    // decodes unless the native one was asked for.
    if (want === "native") {
      throw new Error(
        `BYOL_DECODER=native but ${path} cannot be opened (${
          err instanceof Error ? err.message : String(err)
        }); run deno with --allow-ffi, or rebuild it: deno task build --force`,
        { cause: err },
      );
    }
    // Said once, by the main thread (the decode workers would repeat it).
    if (!("WorkerGlobalScope" in globalThis)) {
      console.warn(
        `warning: ${path} cannot be opened (${
          err instanceof Error ? err.message : String(err)
        }); images decode with imagescript (slower). deno task build --force rebuilds it`,
      );
    }
    cached = { decoder: null };
  }
  return cached.decoder;
}

/**
 * Which decoder decodeImage uses, for the decode cache's key (JPEG pixels
 * differ between decoders): "libjpeg-turbo 2.1.5 + libpng 1.6.39" or
 * "imagescript 1.3.1".
 */
export function decoderId(): string {
  return nativeDecoder()?.version ?? `imagescript ${IMAGESCRIPT_VERSION}`;
}
