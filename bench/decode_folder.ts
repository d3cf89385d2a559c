// The one-time decode of a large image folder with every core: the time
// decodeFiles (src/data/decode_pool.ts, one Deno Worker per core) takes for
// `--n` synthetic JPEGs of `--side` px to `--size` RGB, with the native
// decoder and with imagescript (BYOL_DECODER). Pillow (/usr/bin/python3)
// writes the files into a temp folder under /tmp, removed at the end.
//
//   deno run -A bench/decode_folder.ts [--n 100000] [--side 160] [--size 112]
//                                      [--workers N] [--only native|imagescript]
import { parseArgs } from "node:util";
import { join } from "node:path";
import { decodeFiles } from "../src/data/decode_pool.ts";
import { decoderId } from "../src/data/native_decoder.ts";
import { describeMachine, loadavg } from "./machine.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    n: { type: "string", default: "100000" },
    side: { type: "string", default: "160" },
    size: { type: "string", default: "112" },
    workers: { type: "string", default: String(navigator.hardwareConcurrency || 2) },
    only: { type: "string" },
  },
});
const n = Number(values.n), side = Number(values.side), size = Number(values.size);
const workers = Number(values.workers);

// Crops of a large synthetic photo (color fields, edges, noise) at random places, so every file
// differs; Pillow's defaults (quality 85 here, 4:2:0).
const GENERATE = `
import os, sys
import numpy as np
from PIL import Image
out, n, side = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
S = 1200
y, x = np.mgrid[0:S, 0:S]
base = np.stack([128 + 90 * np.sin(x / 9.0), 128 + 90 * np.cos(y / 7.0), (x * 3 + y * 2) % 256], -1)
base[((x // 24 + y // 24) % 2) == 0] += 35
base = np.clip(base + rng.normal(0, 14, base.shape), 0, 255).astype(np.uint8)
for i in range(n):
    r, c = rng.integers(0, S - side, 2)
    a = base[r:r + side, c:c + side]
    if i % 2:
        a = a[:, ::-1]
    Image.fromarray(np.ascontiguousarray(a)).save(os.path.join(out, f"{i:06d}.jpg"), quality=85)
`;

const machine = await describeMachine({ threads: workers, ompWait: "-", python: "", quick: false });
console.log(`machine: ${machine.cpu}, ${machine.cores} cores; load ${loadavg()}`);
const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "byol-decode-folder-" });
try {
  const t0 = performance.now();
  // Two generator processes, each its half of the names.
  const half = Math.ceil(n / 2);
  await Promise.all([0, 1].map(async (k) => {
    const sub = join(dir, String(k));
    await Deno.mkdir(sub);
    const r = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", GENERATE, sub, String(k === 0 ? half : n - half), String(side)],
      stderr: "inherit",
    }).output();
    if (!r.success) throw new Error("generating the JPEGs failed");
  }));
  const paths: string[] = [];
  for (const k of ["0", "1"]) {
    for (const e of [...Deno.readDirSync(join(dir, k))].sort((a, b) => a.name < b.name ? -1 : 1)) {
      paths.push(join(dir, k, e.name));
    }
  }
  let bytes = 0;
  for (const p of paths) bytes += Deno.statSync(p).size;
  console.log(
    `wrote ${paths.length} JPEGs of ${side}x${side} (${(bytes / 2 ** 20).toFixed(0)} MiB) in ${
      ((performance.now() - t0) / 1000).toFixed(0)
    } s`,
  );
  const spec = { height: size, width: size, channels: 3 as const, antialias: true };
  const decoders = values.only ? [values.only] : ["native", "imagescript"];
  for (const which of decoders) {
    Deno.env.set("BYOL_DECODER", which);
    const load0 = loadavg();
    const t = performance.now();
    const out = await decodeFiles(paths, spec, workers);
    const s = (performance.now() - t) / 1000;
    console.log(
      `${which} (${decoderId()}): ${paths.length} files -> ${size}x${size} RGB with ${workers} ` +
        `workers in ${s.toFixed(1)} s = ${(paths.length / s).toFixed(0)} img/s ` +
        `(${(paths.length / s / workers).toFixed(0)} per worker); ${out.length} bytes; ` +
        `load ${load0} -> ${loadavg()}`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
