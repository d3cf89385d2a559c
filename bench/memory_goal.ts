// Issue 25's memory goal, measured: a folder of synthetic JPEGs whose decoded
// cache is several times a memory budget, trained with `scripts/train.ts`
// while the anonymous resident memory (RssAnon) of the training processes is
// sampled. Pages of the mapped cache are page cache (RssFile) and do not
// count; what must stay under the budget, and flat after the first epoch, is
// the memory the processes own.
//
//   deno run -A bench/memory_goal.ts [--images 160000] [--side 128] [--stored 112]
//       [--budget-gb 2] [--dir /tmp/byol-memory-goal] [--nproc 1] [--epochs 2] [-- extra train flags]
//
// The JPEGs are made once with Pillow (/usr/bin/python3, or $PYTHON) and kept
// in --dir (with the decode cache under --dir/cache); delete the folder after.
import { join } from "node:path";

const DEFAULTS: Record<string, string> = {
  images: "160000",
  side: "128",
  stored: "112",
  "budget-gb": "2",
  dir: "/tmp/byol-memory-goal",
  nproc: "1",
  epochs: "2",
  view: "32",
};
const args: Record<string, string> = { ...DEFAULTS };
let extra: string[] = [];
for (let i = 0; i < Deno.args.length; i++) {
  const a = Deno.args[i];
  if (a === "--") {
    extra = Deno.args.slice(i + 1);
    break;
  }
  const key = a.replace(/^--/, "");
  if (!(key in DEFAULTS) || i + 1 >= Deno.args.length) {
    console.error(
      `unknown flag ${a}; flags: ${Object.keys(DEFAULTS).map((k) => "--" + k).join(" ")}`,
    );
    Deno.exit(2);
  }
  args[key] = Deno.args[++i];
}
const n = Number(args.images), side = Number(args.side), stored = Number(args.stored);
// GB = 10^9 bytes throughout (the "6 GB against 2 GB").
const budget = Number(args["budget-gb"]) * 1e9;
const dir = args.dir, nproc = Number(args.nproc);
const data = join(dir, "images");
const python = Deno.env.get("PYTHON") ?? "/usr/bin/python3";

async function makeImages(): Promise<void> {
  const marker = join(dir, `made-${n}-${side}`);
  if (await Deno.stat(marker).then(() => true, () => false)) return;
  console.error(`making ${n} synthetic ${side} px JPEGs in ${data} ...`);
  const t0 = performance.now();
  const script = `
import os, sys
import numpy as np
from PIL import Image
root, n, side = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
for c in range(10):
    os.makedirs(f"{root}/c{c}", exist_ok=True)
for i in range(n):
    # Smooth random colour fields: JPEG-sized like photos, not like noise.
    small = rng.integers(0, 256, size=(side // 16 + 1, side // 16 + 1, 3), dtype=np.uint8)
    Image.fromarray(small).resize((side, side), Image.BILINEAR).save(
        f"{root}/c{i % 10}/{i:07d}.jpg", quality=85)
`;
  const out = await new Deno.Command(python, {
    args: ["-c", script, data, String(n), String(side)],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("making the JPEGs failed");
  await Deno.writeTextFile(marker, "");
  console.error(`made in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

/** pid and every descendant's pid (through /proc/<pid>/task/<tid>/children). */
function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const t of Deno.readDirSync(`/proc/${out[i]}/task`)) {
        const kids = Deno.readTextFileSync(`/proc/${out[i]}/task/${t.name}/children`).trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      }
    } catch { /* exited */ }
  }
  return out;
}

/** The kB fields of /proc/<pid>/status we report, summed over `pids`. */
function memory(pids: number[]): { anon: number; file: number; processes: number } {
  let anon = 0, file = 0, processes = 0;
  for (const p of pids) {
    try {
      const s = Deno.readTextFileSync(`/proc/${p}/status`);
      const kb = (k: string) => Number(s.match(new RegExp(`${k}:\\s+(\\d+)`))?.[1] ?? 0) * 1024;
      // Only the trainers: deno processes that map libtorch have a large RssFile.
      if (!/Name:\s+deno/.test(s)) continue;
      anon += kb("RssAnon");
      file += kb("RssFile");
      processes++;
    } catch { /* exited */ }
  }
  return { anon, file, processes };
}

await Deno.mkdir(dir, { recursive: true });
await makeImages();
const gb = (b: number) => (b / 1e9).toFixed(2);
const cacheBytes = n * 3 * stored * stored;
console.error(
  `cache ${gb(cacheBytes)} GB (${n} x 3 x ${stored} x ${stored}), budget ${gb(budget)} GB ` +
    `(${(cacheBytes / budget).toFixed(1)}x)`,
);
const trainArgs = [
  "run",
  "-A",
  new URL("../scripts/train.ts", import.meta.url).pathname,
  "--data",
  data,
  "--image-size",
  args.view,
  "--stored-size",
  String(stored),
  "--epochs",
  args.epochs,
  "--batch-size",
  "256",
  "--width",
  "8",
  "--hidden-dim",
  "256",
  "--projection-dim",
  "64",
  "--knn-every",
  "0",
  "--no-evaluate",
  "--online-probe",
  "off",
  "--precision",
  "32",
  "--device",
  "cpu",
  "--out",
  join(dir, `run-${Date.now()}`),
  ...(nproc > 1 ? ["--nproc-per-node", String(nproc)] : []),
  ...extra,
];
const child = new Deno.Command(Deno.execPath(), {
  args: trainArgs,
  env: { BYOL_CACHE_DIR: join(dir, "cache") },
  stdout: "piped",
  stderr: "piped",
}).spawn();
// The phase each sample belongs to, from the trainer's lines (stdout and
// stderr): the decode, then "epoch N" from the progress lines' epoch counter
// ("step 10/1250 epoch 0.02 ..." is in epoch 1).
let phase = "start";
const samples: { t: number; phase: string; anon: number; file: number; processes: number }[] = [];
const t0 = performance.now();
const timer = setInterval(() => {
  samples.push({ t: (performance.now() - t0) / 1000, phase, ...memory(tree(child.pid)) });
}, 500);
async function follow(stream: ReadableStream<Uint8Array>, out: typeof Deno.stdout): Promise<void> {
  const decoder = new TextDecoder();
  let line = "";
  for await (const chunk of stream) {
    await out.write(chunk);
    line += decoder.decode(chunk, { stream: true });
    const parts = line.split(/[\r\n]/);
    line = parts.pop()!;
    for (const l of parts) {
      if (/^decod/.test(l)) phase = "decode";
      const m = l.match(/^step (\d+)\/\d+ epoch ([\d.]+)/);
      if (m) phase = `epoch ${Math.floor(Number(m[2]) - 1e-9) + 1}`;
    }
  }
}
await Promise.all([follow(child.stdout, Deno.stdout), follow(child.stderr, Deno.stderr)]);
const status = await child.status;
clearInterval(timer);
const byPhase = new Map<string, { max: number; last: number; file: number }>();
for (const s of samples) {
  const e = byPhase.get(s.phase) ?? { max: 0, last: 0, file: 0 };
  e.max = Math.max(e.max, s.anon);
  e.last = s.anon;
  e.file = Math.max(e.file, s.file);
  byPhase.set(s.phase, e);
}
console.log(`\n| phase | RssAnon max GB | RssAnon last GB | RssFile max GB |`);
console.log(`| ----- | -------------- | --------------- | -------------- |`);
for (const [p, e] of byPhase) {
  console.log(`| ${p} | ${gb(e.max)} | ${gb(e.last)} | ${gb(e.file)} |`);
}
const peak = Math.max(...samples.map((s) => s.anon));
console.log(
  `\npeak RssAnon ${gb(peak)} GB over ${nproc} process(es) against a ${gb(budget)} GB budget ` +
    `(${peak < budget ? "under" : "OVER"}); cache ${gb(cacheBytes)} GB; exit ${status.code}; ` +
    `${samples.length} samples in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
await Deno.writeTextFile(join(dir, `samples-${nproc}.json`), JSON.stringify(samples));
Deno.exit(status.code);
