// decode: the image folder's one-time decode, per core (bench/cases/decode.ts):
// the native decoder (libjpeg-turbo + libpng, native/image/) against Pillow
// (bench/py/decode.py; /usr/bin/python3's Pillow, the reference: the same
// libjpeg-turbo on Debian) and against imagescript (the fallback), on
// synthetic JPEGs: thumbnails of 120-200 px sides (ImageNet's downsampled
// sets) to 112x112 and 224x224, and ImageNet-like 500x375 photos to 224x224.
// The files live in a temp folder for the run.
import type { BenchContext } from "../context.ts";
import { log } from "../log.ts";
import { loadavg } from "../machine.ts";
import type { DecodeConfig, DecoderSpeed, FileSet } from "../cases/decode.ts";

interface OursResult {
  decoder: string;
  nativeBuilt: boolean;
  rows: { set: string; out: number; imagescript: DecoderSpeed; native: DecoderSpeed | null }[];
}

interface PillowResult {
  rows: { set: string; out: number; ips: number; ms: number }[];
  pillow: string;
  libjpeg: string;
}

const LABEL: Record<string, string> = {
  thumbs: "JPEG 120-200 px",
  photos: "JPEG 500x375",
};

/** A Python with Pillow: /usr/bin/python3 (Debian's, on the system libjpeg-turbo), else the twin's. */
async function pillowPython(fallback: string): Promise<string | null> {
  for (const py of ["/usr/bin/python3", fallback]) {
    try {
      const r = await new Deno.Command(py, {
        args: ["-c", "import PIL"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (r.success) return py;
    } catch {
      // not there
    }
  }
  return null;
}

export async function run(ctx: BenchContext): Promise<void> {
  const quick = ctx.options.quick;
  const sets: FileSet[] = [
    { name: "thumbs", n: quick ? 100 : 400, w: [120, 200], h: [120, 200] },
    { name: "photos", n: quick ? 12 : 40, w: [500, 500], h: [375, 375] },
  ];
  const configs: DecodeConfig[] = [
    { set: "thumbs", out: 112 },
    { set: "thumbs", out: 224 },
    { set: "photos", out: 224 },
  ];
  const dir = await Deno.makeTempDir({ prefix: "byol-bench-decode-" });
  try {
    const p = {
      ...ctx.base,
      threads: 1,
      dir,
      sets,
      configs,
      reps: quick ? 3 : 5,
      warmup: 1,
    };
    log(`decode: ${sets.map((s) => `${s.n} ${LABEL[s.name]}`).join(", ")} (load ${loadavg()})`);
    const o = (await ctx.sides.ours("decode", p)).result as unknown as OursResult;
    const py = await pillowPython(ctx.sides.settings.python);
    let pil: PillowResult | null = null;
    if (py !== null) {
      const out = await new Deno.Command(py, {
        args: ["bench/py/decode.py", JSON.stringify(p)],
        cwd: new URL("../..", import.meta.url).pathname,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout).trim();
      if (!out.success) {
        throw new Error(
          `${py} bench/py/decode.py failed:\n${new TextDecoder().decode(out.stderr)}`,
        );
      }
      pil = JSON.parse(text.split("\n").pop()!).result as PillowResult;
    }
    ctx.details.decode = { ours: o, pillow: pil, pillowPython: py };
    const pilName = pil
      ? `Pillow ${pil.pillow} (libjpeg-turbo ${pil.libjpeg}, ${py})`
      : "no Pillow";
    const nativeName = o.nativeBuilt ? o.decoder : "native decoder not built";
    for (const r of o.rows) {
      const what = `decode ${LABEL[r.set]} -> ${r.out}x${r.out} RGB, 1 core`;
      const pr = pil?.rows.find((x) => x.set === r.set && x.out === r.out);
      const nat = r.native?.ips ?? NaN;
      ctx.rows.add(
        `${what}: native vs Pillow`,
        "img/s",
        nat,
        pr?.ips ?? NaN,
        "higher",
        null,
        "",
        `ours: ${nativeName}; 2nd column: ${pilName}`,
      );
      ctx.rows.add(
        `${what}: native (1st column) vs imagescript (2nd)`,
        "img/s",
        nat,
        r.imagescript.ips,
        "higher",
        null,
        "",
        `imagescript ${r.imagescript.ips.toFixed(0)} img/s (wasm decode + resize.ts)`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
