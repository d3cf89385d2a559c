// The native decoder (native/image/decode_image.c, libttimage.so): PNG of every
// kind equals imagescript's decode (lossless: the same pixels), except where
// Pillow and imagescript differ, where it equals Pillow; JPEG equals Pillow's
// decode + resize byte for byte (the same libjpeg-turbo, Pillow's settings);
// its resize equals resize.ts's; corrupt and truncated files are code 1 with
// a message, never a crash; what it leaves to imagescript (code 2) still
// decodes through decodeImage. Ignored when libttimage.so is not built; the
// Pillow comparisons when /usr/bin/python3 has no Pillow.
import { join } from "node:path";
import { resizePlanes } from "../../src/data/mod.ts";
import { DecodeFailure, decodeImage, type DecodeSpec } from "../../src/data/decode.ts";
import {
  decoderId,
  IMAGESCRIPT_VERSION,
  type NativeDecoder,
  nativeDecoderPath,
  openNativeDecoder,
} from "../../src/data/native_decoder.ts";
import { shimInfoPath } from "../../ffi/shim_path.ts";
import { assert, assertBytes, assertEquals } from "./_assert.ts";
import { noise, tempDir } from "./_helpers.ts";
import { type ColorType, crc32, encodePngAny, type PngSpec, SAMPLES } from "./_png.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function notBuiltReason(): string {
  try {
    const info = JSON.parse(Deno.readTextFileSync(shimInfoPath()));
    if (info?.imageDecoder?.built === false) return info.imageDecoder.reason;
  } catch {
    // no build-info
  }
  return `${nativeDecoderPath()} is missing`;
}

let nd: NativeDecoder | null = null;
let why = "";
try {
  nd = openNativeDecoder();
} catch (err) {
  let present = false;
  try {
    present = Deno.statSync(nativeDecoderPath()).isFile;
  } catch {
    // not built
  }
  why = present ? `cannot open it: ${err}` : notBuiltReason();
}
const BUILT = nd !== null;
const native = () => nd!;
const skip = BUILT ? "" : ` (ignored: libttimage.so not built: ${why})`;

/** The Pillow the JPEG bytes are compared with: Debian's, linked to the system libjpeg-turbo. */
const PILLOW_PY = Deno.env.get("BYOL_PILLOW_PYTHON") ?? "/usr/bin/python3";

async function py(code: string, input?: string): Promise<string> {
  const child = new Deno.Command(PILLOW_PY, {
    args: ["-c", code],
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(input));
    await w.close();
  }
  const out = await child.output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

/** Pillow's libjpeg-turbo version, or null without Pillow. */
let pillowJpeg: string | null = null;
try {
  pillowJpeg = (await py(
    "from PIL import features; print(features.version('libjpeg_turbo') or 'libjpeg')",
  )).trim();
} catch {
  // no Pillow
}
const HAVE_PIL = pillowJpeg !== null;
const noPil = HAVE_PIL ? "" : ` (ignored: no Pillow in ${PILLOW_PY})`;
// JPEG pixels are compared with a Pillow on the same libjpeg-turbo only.
const ourJpeg = nd?.version.match(/libjpeg-turbo (\S+)/)?.[1] ?? null;
const sameJpeg = HAVE_PIL && ourJpeg !== null && pillowJpeg === ourJpeg;
const jpegSkip = skip || noPil ||
  (sameJpeg ? "" : ` (ignored: Pillow's libjpeg-turbo ${pillowJpeg} is not ours, ${ourJpeg})`);

/** A Pillow job: open `path`, convert(mode), resize (per band, as decodeImage does), CHW bytes. */
interface PilJob {
  path: string;
  mode: "L" | "RGB" | "RGBA";
  w: number;
  h: number;
}

const PIL_DECODE = `
import base64, json, sys
from PIL import Image
out = []
for j in json.load(sys.stdin):
    im = Image.open(j["path"]).convert(j["mode"])
    size = (j["w"], j["h"])
    if j["mode"] == "RGBA":
        # Pillow's RGBA resize premultiplies alpha; decodeImage resizes every plane alone.
        bands = [b.resize(size, Image.BILINEAR) for b in im.split()]
    else:
        im = im.resize(size, Image.BILINEAR)
        bands = im.split()
    out.append(base64.b64encode(b"".join(b.tobytes() for b in bands)).decode())
print(json.dumps(out))
`;

async function pillowDecode(jobs: PilJob[]): Promise<Uint8Array[]> {
  const b64: string[] = JSON.parse(await py(PIL_DECODE, JSON.stringify(jobs)));
  return b64.map((b) => {
    const s = atob(b);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  });
}

const MODES = { 1: "L", 3: "RGB", 4: "RGBA" } as const;

/** decodeImage with BYOL_DECODER set to `which` for the call. */
async function decodeWith(
  which: "native" | "imagescript",
  bytes: Uint8Array,
  spec: DecodeSpec,
): Promise<Uint8Array> {
  const before = Deno.env.get("BYOL_DECODER");
  Deno.env.set("BYOL_DECODER", which);
  try {
    return await decodeImage(bytes, spec);
  } finally {
    if (before === undefined) Deno.env.delete("BYOL_DECODER");
    else Deno.env.set("BYOL_DECODER", before);
  }
}

function ok(bytes: Uint8Array, spec: DecodeSpec): Uint8Array {
  const r = native().decode(bytes, spec);
  if (r.code !== 0) throw new Error(`native decode: code ${r.code}: ${r.message}`);
  return r.data;
}

/** Output sizes: native, down, up, mixed, tiny (h, w). */
function sizes(h: number, w: number): [number, number][] {
  return [[h, w], [Math.max(1, h >> 1), Math.max(1, Math.round(w / 3))], [h * 2 + 1, w * 3], [
    h + 7,
    Math.max(1, w - 5),
  ], [1, 2]];
}

// ---------------------------------------------------------------- PNG

interface PngCase {
  name: string;
  spec: PngSpec;
}

/** Every PNG kind: color type x bit depth, palette +- tRNS, alpha, each also interlaced. */
function pngCases(w: number, h: number): PngCase[] {
  const kinds: [ColorType, PngSpec["depth"]][] = [
    [0, 1],
    [0, 2],
    [0, 4],
    [0, 8],
    [2, 8],
    [2, 16],
    [3, 1],
    [3, 2],
    [3, 4],
    [3, 8],
    [4, 8],
    [4, 16],
    [6, 8],
    [6, 16],
  ];
  const out: PngCase[] = [];
  for (const [ct, depth] of kinds) {
    for (const interlace of [false, true]) {
      for (const withTrns of ct === 3 ? [false, true] : [false]) {
        const spp = SAMPLES[ct];
        const n = w * h * spp;
        const raw = noise(2 * n, ct * 97 + depth * 13 + (interlace ? 5 : 0));
        const entries = ct === 3 ? Math.min(1 << depth, 40) : 0;
        const samples = Array.from(
          { length: n },
          (_, i) =>
            depth === 16
              ? (raw[2 * i] << 8) | raw[2 * i + 1]
              : ct === 3
              ? raw[i] % entries
              : raw[i] & ((1 << depth) - 1),
        );
        const spec: PngSpec = { width: w, height: h, colorType: ct, depth, samples, interlace };
        if (ct === 3) {
          spec.palette = noise(3 * entries, entries + 3);
          // Longer than the palette for 1- and 2-bit files: libpng would drop it, Pillow and
          // imagescript use its first entries (so does the decoder).
          if (withTrns) spec.trns = noise(Math.min(entries + 3, 256), 11);
        }
        // gAMA and iCCP-free sRGB are ignored by both decoders.
        spec.extra = [["gAMA", new Uint8Array([0, 0, 0xb1, 0x8f])]];
        out.push({
          name: `type ${ct} ${depth}-bit${interlace ? " interlaced" : ""}${
            withTrns ? " tRNS" : ""
          }`,
          spec,
        });
      }
    }
  }
  return out;
}

Deno.test({
  name:
    "native decoder: PNG of every kind equals imagescript's decode at every size and channel count" +
    skip,
  ignore: !BUILT,
  fn: async () => {
    for (const [w, h] of [[13, 9], [40, 33]]) {
      for (const c of pngCases(w, h)) {
        const bytes = encodePngAny(c.spec);
        for (const [oh, ow] of sizes(h, w)) {
          for (const channels of [1, 3, 4] as const) {
            for (const antialias of [true, false]) {
              const spec = { height: oh, width: ow, channels, antialias };
              const what = `${c.name} ${w}x${h} -> ${ow}x${oh} c${channels} aa=${antialias}`;
              assertBytes(ok(bytes, spec), await decodeWith("imagescript", bytes, spec), what);
            }
          }
        }
      }
    }
  },
});

Deno.test({
  name: "native decoder: PNG of every kind equals Pillow's decode + resize" + (skip || noPil),
  ignore: !BUILT || !HAVE_PIL,
  fn: async () => {
    await using dir = await tempDir();
    const jobs: PilJob[] = [];
    const ours: Uint8Array[] = [];
    const what: string[] = [];
    const [w, h] = [29, 17];
    for (const c of pngCases(w, h)) {
      const path = join(dir.path, `${jobs.length}.png`);
      const bytes = encodePngAny(c.spec);
      await Deno.writeFile(path, bytes);
      for (const [oh, ow] of sizes(h, w)) {
        for (const channels of [1, 3, 4] as const) {
          jobs.push({ path, mode: MODES[channels], w: ow, h: oh });
          ours.push(ok(bytes, { height: oh, width: ow, channels, antialias: true }));
          what.push(`${c.name} -> ${ow}x${oh} c${channels}`);
        }
      }
    }
    const pil = await pillowDecode(jobs);
    pil.forEach((p, i) => assertBytes(ours[i], p, what[i]));
  },
});

Deno.test({
  name: "native decoder: a gray or RGB tRNS key color gives alpha 0 and keeps the color " +
    "(Pillow's convert; imagescript zeroes the color)" + skip,
  ignore: !BUILT,
  fn: async () => {
    await using dir = await tempDir();
    const [w, h] = [6, 5];
    const gray = Array.from(noise(w * h, 3));
    const rgb = Array.from(noise(3 * w * h, 4));
    const key = gray[7];
    const files = [
      {
        name: "gray",
        bytes: encodePngAny({
          width: w,
          height: h,
          colorType: 0,
          depth: 8,
          samples: gray,
          trns: new Uint8Array([0, key]),
        }),
        color: (i: number) => [gray[i], gray[i], gray[i]],
        transparent: (i: number) => gray[i] === key,
      },
      {
        name: "rgb",
        bytes: encodePngAny({
          width: w,
          height: h,
          colorType: 2,
          depth: 8,
          samples: rgb,
          trns: new Uint8Array([0, rgb[21], 0, rgb[22], 0, rgb[23]]),
        }),
        color: (i: number) => rgb.slice(3 * i, 3 * i + 3),
        transparent: (i: number) =>
          rgb[3 * i] === rgb[21] && rgb[3 * i + 1] === rgb[22] && rgb[3 * i + 2] === rgb[23],
      },
    ];
    const jobs: PilJob[] = [];
    const ours: Uint8Array[] = [];
    for (const f of files) {
      const n = w * h;
      const got = ok(f.bytes, { height: h, width: w, channels: 4, antialias: true });
      const is = await decodeWith("imagescript", f.bytes, {
        height: h,
        width: w,
        channels: 4,
        antialias: true,
      });
      let keyed = 0;
      for (let i = 0; i < n; i++) {
        const t = f.transparent(i);
        keyed += t ? 1 : 0;
        assertEquals(got[3 * n + i], t ? 0 : 255, `${f.name} alpha ${i}`);
        assertEquals(is[3 * n + i], got[3 * n + i], `${f.name} imagescript alpha ${i}`);
        for (let c = 0; c < 3; c++) {
          assertEquals(got[c * n + i], f.color(i)[c], `${f.name} color ${c} ${i}`);
          // imagescript's transparent pixels are 0, 0, 0, 0.
          assertEquals(is[c * n + i], t ? 0 : f.color(i)[c], `${f.name} imagescript ${c} ${i}`);
        }
      }
      assert(keyed > 0, `${f.name}: no keyed pixel`);
      const path = join(dir.path, `${f.name}.png`);
      await Deno.writeFile(path, f.bytes);
      for (const channels of [1, 3, 4] as const) {
        for (const [oh, ow] of sizes(h, w)) {
          jobs.push({ path, mode: MODES[channels], w: ow, h: oh });
          ours.push(ok(f.bytes, { height: oh, width: ow, channels, antialias: true }));
        }
      }
    }
    if (HAVE_PIL) {
      const pil = await pillowDecode(jobs);
      pil.forEach((p, i) => assertBytes(ours[i], p, `${jobs[i].path} ${jobs[i].mode}`));
    }
  },
});

Deno.test({
  name: "native decoder: PNGs it does not convert as Pillow does are code 2 and decode " +
    "through imagescript" + skip,
  ignore: !BUILT,
  fn: async () => {
    const [w, h] = [7, 6];
    const s16 = Array.from({ length: w * h }, (_, i) => (i * 1543) & 0xffff);
    const cases: [string, PngSpec][] = [
      ["16-bit gray", { width: w, height: h, colorType: 0, depth: 16, samples: s16 }],
      ["16-bit RGB with tRNS", {
        width: w,
        height: h,
        colorType: 2,
        depth: 16,
        samples: [...s16, ...s16, ...s16],
        trns: new Uint8Array([0, 1, 0, 2, 0, 3]),
      }],
      ["2-bit gray with tRNS", {
        width: w,
        height: h,
        colorType: 0,
        depth: 2,
        samples: s16.map((v) => v & 3),
        trns: new Uint8Array([0, 2]),
      }],
      ["palette index past PLTE", {
        width: w,
        height: h,
        colorType: 3,
        depth: 4,
        samples: s16.map((v) => v & 15),
        palette: noise(3 * 4, 9),
      }],
    ];
    for (const [name, spec] of cases) {
      const bytes = encodePngAny(spec);
      const r = native().decode(bytes, { height: h, width: w, channels: 3, antialias: true });
      assertEquals(r.code, 2, name);
      assert(r.code === 2 && /not handled by the native decoder/.test(r.message), name);
      const d = { height: 4, width: 9, channels: 4 as const, antialias: true };
      assertBytes(
        await decodeWith("native", bytes, d),
        await decodeWith("imagescript", bytes, d),
        name,
      );
    }
  },
});

// ---------------------------------------------------------------- JPEG

/** Pillow writes the test JPEGs: smooth colors, edges and noise, odd sizes. */
const PIL_JPEGS = `
import json, sys
import numpy as np
from PIL import Image
for j in json.load(sys.stdin):
    rng = np.random.default_rng(j["seed"])
    h, w = j["h"], j["w"]
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([
        128 + 100 * np.sin(x / 7.0 + j["seed"]),
        128 + 100 * np.cos(y / 5.0),
        (x * 3 + y * 2) % 256,
    ], axis=-1)
    base[(x // 16 + y // 16) % 2 == 0] += 40
    img = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    im = Image.fromarray(img)
    if j["mode"] == "L":
        im = im.convert("L")
    kw = {"quality": j["quality"], "progressive": j["progressive"], "optimize": j["progressive"]}
    if j["mode"] != "L":
        kw["subsampling"] = j["subsampling"]
    im.save(j["path"], "JPEG", **kw)
print("ok")
`;

interface JpegCase {
  path: string;
  mode: "L" | "RGB";
  w: number;
  h: number;
  quality: number;
  subsampling: number;
  progressive: boolean;
  seed: number;
}

function jpegCases(dir: string): JpegCase[] {
  const out: JpegCase[] = [];
  const shapes = [[157, 131], [200, 120], [121, 199], [16, 16], [33, 9]];
  let seed = 1;
  for (const [w, h] of shapes) {
    for (
      const [mode, subsampling, progressive] of [
        ["RGB", 2, false], // 4:2:0, baseline
        ["RGB", 0, false], // 4:4:4
        ["RGB", 1, false], // 4:2:2
        ["RGB", 2, true], // progressive 4:2:0
        ["L", 0, false],
        ["L", 0, true],
      ] as const
    ) {
      seed++;
      out.push({
        path: join(dir, `${seed}.jpg`),
        mode,
        w,
        h,
        quality: 60 + (seed * 7) % 36,
        subsampling,
        progressive,
        seed,
      });
    }
  }
  return out;
}

async function writeJpegs(cases: JpegCase[]): Promise<void> {
  await py(PIL_JPEGS, JSON.stringify(cases));
}

Deno.test({
  name: "native decoder: JPEG (gray, RGB 4:2:0, 4:2:2, 4:4:4, progressive) equals Pillow's " +
    "convert(mode).resize((w, h), BILINEAR) byte for byte" + jpegSkip,
  ignore: jpegSkip !== "",
  fn: async () => {
    await using dir = await tempDir();
    const cases = jpegCases(dir.path);
    await writeJpegs(cases);
    const jobs: PilJob[] = [];
    const ours: Uint8Array[] = [];
    for (const c of cases) {
      const bytes = await Deno.readFile(c.path);
      const extra: [number, number][] = c.w === 157 ? [[112, 112], [224, 224]] : [[112, 112]];
      for (const [oh, ow] of [...sizes(c.h, c.w), ...extra]) {
        for (const channels of [1, 3, 4] as const) {
          jobs.push({ path: c.path, mode: MODES[channels], w: ow, h: oh });
          ours.push(ok(bytes, { height: oh, width: ow, channels, antialias: true }));
        }
      }
    }
    const pil = await pillowDecode(jobs);
    pil.forEach((p, i) =>
      assertBytes(ours[i], p, `${jobs[i].path} ${jobs[i].mode} ${jobs[i].w}x${jobs[i].h}`)
    );
  },
});

Deno.test({
  name: "native decoder: decodeImage gives the native bytes, BYOL_DECODER=imagescript " +
    "imagescript's (close: another IDCT)" + (skip || noPil),
  ignore: !BUILT || !HAVE_PIL,
  fn: async () => {
    await using dir = await tempDir();
    const cases = jpegCases(dir.path).filter((c) => c.w === 157);
    await writeJpegs(cases);
    for (const c of cases) {
      const bytes = await Deno.readFile(c.path);
      const spec = { height: 64, width: 80, channels: 3 as const, antialias: true };
      const viaDecode = await decodeImage(bytes, spec);
      if (Deno.env.get("BYOL_DECODER") !== "imagescript") {
        assertBytes(viaDecode, ok(bytes, spec), c.path);
      }
      const is = await decodeWith("imagescript", bytes, spec);
      let maxDiff = 0;
      const nat = ok(bytes, spec);
      for (let i = 0; i < is.length; i++) maxDiff = Math.max(maxDiff, Math.abs(is[i] - nat[i]));
      assert(maxDiff <= 8, `${c.path}: imagescript and native differ by ${maxDiff}`);
    }
  },
});

// A 8x8 CMYK JPEG (Adobe APP14, 4 components) written by Pillow 9.4.
const CMYK_JPEG =
  "/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwAIBgYHBgUIBwcHCQkICgwUDQwLCwwZEhMPFB0aHx4dGhwcICQuJyAiLCMcHC" +
  "g3KSwwMTQ0NB8nOT04MjwuMzQy/8AAFAgACAAIBEMRAE0RAFkRAEsRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgME" +
  "BQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYX" +
  "GBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Sl" +
  "pqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAA4EQwBNAFkASwAAPwD3" +
  "WvNq9hr1ev/Z";

Deno.test({
  name: "native decoder: a CMYK JPEG is code 2 and decodes through imagescript" + skip,
  ignore: !BUILT,
  fn: async () => {
    const bytes = Uint8Array.from(atob(CMYK_JPEG), (ch) => ch.charCodeAt(0));
    const r = native().decode(bytes, { height: 8, width: 8, channels: 3, antialias: true });
    assertEquals(r.code, 2);
    assert(r.code === 2 && /CMYK/.test(r.message), r.code === 2 ? r.message : "");
    const spec = { height: 8, width: 8, channels: 3 as const, antialias: true };
    const got = await decodeWith("native", bytes, spec);
    assertBytes(got, await decodeWith("imagescript", bytes, spec));
    // Pillow's CMYK -> RGB of (10, 200, 30, 40): 255 - c - k, clipped.
    assertEquals([got[0], got[64], got[128]], [207, 46, 190]);
  },
});

// ---------------------------------------------------------------- resize

Deno.test({
  name: "native decoder: the C resize equals resizePlanes on random planes, many size pairs" +
    skip,
  ignore: !BUILT,
  fn: () => {
    const dims = [1, 2, 3, 5, 7, 8, 13, 16, 31, 64, 100, 112, 157, 224, 333];
    let seed = 1;
    for (const ih of dims) {
      for (const ow of dims) {
        // Each input height against every output width, the other two sides varied with them.
        const iw = dims[(dims.indexOf(ih) * 7 + dims.indexOf(ow)) % dims.length];
        const oh = dims[(dims.indexOf(ow) * 5 + 3) % dims.length];
        const planes = 1 + (seed % 4);
        const src = noise(planes * ih * iw, seed++);
        for (const aa of [true, false]) {
          assertBytes(
            native().resize(src, planes, ih, iw, oh, ow, aa),
            resizePlanes(src, planes, ih, iw, oh, ow, aa),
            `${planes} x ${ih}x${iw} -> ${oh}x${ow} aa=${aa}`,
          );
        }
      }
    }
  },
});

// ---------------------------------------------------------------- bad files

function expectCorrupt(bytes: Uint8Array, what: string): void {
  const r = native().decode(bytes, { height: 8, width: 8, channels: 3, antialias: true });
  assertEquals(r.code, 1, `${what}: code ${r.code}${r.code !== 0 ? ` (${r.message})` : ""}`);
  assert(r.code === 1 && /corrupt or unsupported image/.test(r.message), `${what}: message`);
}

Deno.test({
  name: "native decoder: truncated PNGs and JPEGs are code 1 with a message" + skip,
  ignore: !BUILT,
  fn: async () => {
    const png = encodePngAny({
      width: 30,
      height: 20,
      colorType: 2,
      depth: 8,
      samples: noise(30 * 20 * 3, 5),
    });
    // Up to the end of IDAT's data (its CRC and IEND carry no pixels).
    const idatEnd = png.length - 12 - 4;
    for (let n = 8; n < idatEnd; n += 7) expectCorrupt(png.subarray(0, n), `PNG cut at ${n}`);
    const jpegs: Uint8Array[] = [];
    if (HAVE_PIL) {
      await using dir = await tempDir();
      const cases = jpegCases(dir.path).filter((c) => c.w === 121);
      await writeJpegs(cases);
      for (const c of cases) jpegs.push(await Deno.readFile(c.path));
    } else {
      const { Image } = await import("../../deps/imagescript.ts");
      const im = new Image(40, 30);
      im.bitmap.set(noise(im.bitmap.length, 3));
      jpegs.push(await im.encodeJPEG(80));
    }
    for (const [k, jpeg] of jpegs.entries()) {
      // Anything short of the EOI marker's last bytes (Pillow: "image file is truncated").
      for (let n = 3; n < jpeg.length - 2; n += Math.max(1, jpeg.length >> 6)) {
        expectCorrupt(jpeg.subarray(0, n), `JPEG ${k} cut at ${n} of ${jpeg.length}`);
      }
    }
  },
});

Deno.test({
  name: "native decoder: damaged and absurd files never crash: code 0, 1 or 2, a message unless 0" +
    skip,
  ignore: !BUILT,
  fn: async () => {
    const { Image } = await import("../../deps/imagescript.ts");
    const im = new Image(24, 18);
    im.bitmap.set(noise(im.bitmap.length, 8));
    const files = [
      await im.encodeJPEG(70),
      encodePngAny({
        width: 24,
        height: 18,
        colorType: 6,
        depth: 8,
        samples: noise(24 * 18 * 4, 2),
      }),
      encodePngAny({
        width: 24,
        height: 18,
        colorType: 3,
        depth: 4,
        samples: Array.from(noise(24 * 18, 2), (v) => v & 7),
        palette: noise(24, 1),
        interlace: true,
      }),
    ];
    let seed = 1;
    for (const [k, f] of files.entries()) {
      for (let t = 0; t < 300; t++) {
        const bad = f.slice();
        const r = noise(8, seed++);
        const flips = 1 + (r[0] % 4);
        for (let i = 0; i < flips; i++) {
          // Past the signature (a broken signature is not a PNG or JPEG at all).
          const at = 8 + (((r[1 + 2 * i] << 8) | r[2 + 2 * i]) % (bad.length - 8));
          bad[at] ^= 1 << (r[7] % 8);
        }
        const out = native().decode(bad, { height: 9, width: 12, channels: 4, antialias: true });
        assert([0, 1, 2].includes(out.code), `file ${k} flip ${t}: code ${out.code}`);
        if (out.code !== 0) assert(out.message.length > 0, `file ${k} flip ${t}: no message`);
      }
    }
    // Not an image, empty, a lone signature.
    for (
      const b of [new Uint8Array(0), new TextEncoder().encode("hello"), files[1].subarray(0, 8)]
    ) {
      assertEquals(
        native().decode(b, { height: 2, width: 2, channels: 1, antialias: true }).code,
        1,
      );
    }
  },
});

Deno.test({
  name: "native decoder: headers claiming more than 2^28 pixels are refused before decoding" +
    skip,
  ignore: !BUILT,
  fn: async () => {
    const png = encodePngAny({
      width: 4,
      height: 4,
      colorType: 0,
      depth: 8,
      samples: noise(16, 1),
    });
    const v = new DataView(png.buffer);
    v.setUint32(16, 30000);
    v.setUint32(20, 30000);
    v.setUint32(29, crc32(png.subarray(12, 29))); // IHDR's CRC, so libpng reads the header
    const r = native().decode(png, { height: 2, width: 2, channels: 3, antialias: true });
    assert(r.code === 1 && /claims 30000 x 30000/.test(r.message), JSON.stringify(r));
    // A JPEG whose SOF0 says 65000 x 65000.
    const { Image } = await import("../../deps/imagescript.ts");
    const jpeg = await new Image(8, 8).encodeJPEG(80);
    let sof = -1;
    for (let i = 2; i + 9 < jpeg.length; i++) {
      if (jpeg[i] === 0xff && (jpeg[i + 1] === 0xc0 || jpeg[i + 1] === 0xc2)) {
        sof = i;
        break;
      }
    }
    assert(sof > 0, "no SOF marker");
    const big = jpeg.slice();
    const jv = new DataView(big.buffer);
    jv.setUint16(sof + 5, 65000);
    jv.setUint16(sof + 7, 65000);
    const j = native().decode(big, { height: 2, width: 2, channels: 3, antialias: true });
    assert(j.code === 1 && /claims 65000 x 65000/.test(j.message), JSON.stringify(j));
  },
});

Deno.test({
  name: "native decoder: decodeImage throws DecodeFailure with the decoder's message" + skip,
  ignore: !BUILT,
  fn: async () => {
    const png = encodePngAny({
      width: 9,
      height: 9,
      colorType: 0,
      depth: 8,
      samples: noise(81, 1),
    });
    let err: unknown = null;
    try {
      await decodeWith("native", png.subarray(0, 40), {
        height: 4,
        width: 4,
        channels: 1,
        antialias: true,
      });
    } catch (e) {
      err = e;
    }
    assert(err instanceof DecodeFailure, String(err));
    assert(/corrupt or unsupported image: PNG decode failed/.test((err as Error).message));
  },
});

// ---------------------------------------------------------------- selection

Deno.test("native decoder: decoderId names the decoder in use; imagescript's version is the pinned one", () => {
  const deps = Deno.readTextFileSync(join(ROOT, "deps/imagescript.ts"));
  assert(deps.includes(`npm:imagescript@${IMAGESCRIPT_VERSION}"`), "IMAGESCRIPT_VERSION is stale");
  const id = decoderId();
  if (BUILT && Deno.env.get("BYOL_DECODER") !== "imagescript") {
    assert(/^libjpeg(-turbo)? \S+ \+ libpng \S+$/.test(id), id);
  } else {
    assertEquals(id, `imagescript ${IMAGESCRIPT_VERSION}`);
  }
});

Deno.test("native decoder: BYOL_DECODER=native without the library says how to build it", async () => {
  await using dir = await tempDir();
  const code = `
    const decodeModule = ${JSON.stringify(join(ROOT, "src/data/decode.ts"))};
    const { decodeImage } = await import(decodeModule);
    try {
      await decodeImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]), { height: 1, width: 1, channels: 1, antialias: true });
      console.log("no error");
    } catch (e) { console.log(e.message); }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { BYOL_BUILD_DIR: dir.path, BYOL_DECODER: "native", TORCH_SHIM_PATH: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert(/BYOL_DECODER=native but the native image decoder is not built/.test(text), text);
  assert(/sudo apt-get install libjpeg62-turbo-dev libpng-dev/.test(text), text);
  assert(/deno task build/.test(text), text);
});
