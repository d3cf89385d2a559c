// loader: the loader's images/s measured alone, beside what the training step
// consumes (issue 25: data larger than memory; bench/cases/loader.ts). A temp
// file laid out like a decode cache's images (a 4096-byte head, then N uint8
// 3 x 112 x 112 images: the stored size for a 96 px view; about 1 GiB, 256
// MiB with --quick) is mapped with mapImages; each mode runs in its own
// process after reading the file once (warm page cache: a cold one needs root
// to drop). Ours only: each row compares two of our configurations, the 2nd
// column named in the row.
import { join } from "node:path";
import type { BenchContext } from "../context.ts";
import { log } from "../log.ts";
import { loadavg } from "../machine.ts";
import { num, type SideOut } from "../sides.ts";
import type { LoaderSpeed, StepSpeed } from "../cases/loader.ts";

/** The stored side of a 96 px view under the paper augmentation (8/7, data_defaults.ts). */
export const STORED = 112;
export const VIEW = 96;
/** The loader's batch (the rows' batches), and the default recipe's step batch. */
export const LOADER_BATCH = 256;
export const STEP_BATCH = 64;

/** Images in the file: about `mib` MiB of 3 x side x side uint8 images. */
export function imagesFor(mib: number, side = STORED): number {
  return Math.floor(mib * 2 ** 20 / (3 * side * side));
}

/** The case parameters of each mode (--quick: a 256 MiB file, fewer epochs and steps). */
export function loaderParams(quick: boolean): {
  mib: number;
  n: number;
  loader: { warmup: number; reps: number; budgetMs: number };
  step: { stepBlocks: number; gpuStepsPerBlock: number; budgetMs: number };
} {
  const mib = quick ? 256 : 1024;
  return {
    mib,
    n: imagesFor(mib),
    // Epochs of about 3 s each and CPU steps of several seconds on a loaded
    // 2-core machine: the budgets keep the suite near a minute there (each
    // measurement stops after its budget once it has 2 repetitions).
    loader: quick
      ? { warmup: 1, reps: 2, budgetMs: 2_000 }
      : { warmup: 1, reps: 3, budgetMs: 6_000 },
    step: quick
      ? { stepBlocks: 2, gpuStepsPerBlock: 10, budgetMs: 2_000 }
      : { stepBlocks: 3, gpuStepsPerBlock: 20, budgetMs: 12_000 },
  };
}

const rowsOf = <T>(o: SideOut) => o.result.rows as T[];

export async function run(ctx: BenchContext): Promise<void> {
  const quick = ctx.options.quick;
  const P = loaderParams(quick);
  const dir = await Deno.makeTempDir({ prefix: "byol-bench-loader-" });
  try {
    const file = {
      path: join(dir, "images.bin"),
      n: P.n,
      side: STORED,
      batch: LOADER_BATCH,
      view: VIEW,
      stepBatch: STEP_BATCH,
    };
    const gib = (P.n * 3 * STORED * STORED / 2 ** 30).toFixed(2);
    const what = `${P.n} images 3x${STORED}x${STORED} (${gib} GiB)`;
    log(`loader: mapped, ${what} (load ${loadavg()})`);
    const mapped = await ctx.sides.ours("loader", {
      ...ctx.base,
      ...P.loader,
      ...file,
      mode: "mapped",
    });
    log(`loader: read into memory (load ${loadavg()})`);
    const memory = await ctx.sides.ours("loader", {
      ...ctx.base,
      ...P.loader,
      ...file,
      mode: "memory",
    });
    log(`loader: the training step beside it (load ${loadavg()})`);
    const step = await ctx.sides.ours("loader", {
      ...ctx.base,
      ...P.step,
      ...file,
      mode: "step",
    });
    ctx.details.loader = {
      file: { n: P.n, side: STORED, bytes: P.n * 3 * STORED * STORED, head: 4096 },
      mapped: { ...mapped.result, peakRssMiB: mapped.peakRssMiB },
      memory: { ...memory.result, peakRssMiB: memory.peakRssMiB },
      step: { ...step.result, peakRssMiB: step.peakRssMiB },
    };
    addRows(ctx, what, mapped, memory, step);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function addRows(
  ctx: BenchContext,
  what: string,
  mapped: SideOut,
  memory: SideOut,
  step: SideOut,
): void {
  const m = rowsOf<LoaderSpeed>(mapped);
  const find = (device: string, placement: string) =>
    m.find((r) => r.device === device && r.placement === placement);
  const inPlace = find("cpu", "device")!;
  const hostCpu = find("cpu", "host")!;
  const mem = rowsOf<LoaderSpeed>(memory)[0];
  const gpu = mapped.result.cuda === true;
  const warm = `page cache warm (file read once first: ${num(mapped.result.warmMs).toFixed(0)} ms)`;
  const epochs = (r: LoaderSpeed) =>
    `median of ${r.epochsMs.length} epochs of ${r.batchesPerEpoch} batches (${
      r.epochsMs.map((x) => x.toFixed(0)).join(", ")
    } ms; 1st, untimed: ${r.firstEpochMs.toFixed(0)} ms)`;
  const B = LOADER_BATCH;
  ctx.rows.add(
    `loader alone, CPU, b${B}: mapped cache in place (1st column) vs read into memory (2nd)`,
    "img/s",
    inPlace.ips,
    mem.ips,
    "higher",
    null,
    "",
    `${what}, each batch taken and freed; ${warm}; in place: ${epochs(inPlace)}; memory: ${
      epochs(mem)
    }, Deno.readFile ${num(memory.result.readMs).toFixed(0)} ms + the copy into a tensor; ` +
      `peak RSS ${mapped.peakRssMiB.toFixed(0)} MiB (mapped process) vs ${
        memory.peakRssMiB.toFixed(0)
      } MiB`,
  );
  ctx.rows.add(
    `loader alone, CPU, b${B}: host stager (placement host, 1st column) vs in place (2nd)`,
    "img/s",
    hostCpu.ips,
    inPlace.ips,
    "higher",
    null,
    "",
    `gather into a reused buffer + the batch's copy (a GPU run's path minus the DMA); ${
      epochs(hostCpu)
    }`,
  );
  const staged = find("cuda", "host");
  const onGpu = find("cuda", "auto");
  ctx.rows.add(
    `loader alone, CUDA, b${B}: staged (pinned + copy stream, 1st column) vs placement auto (2nd)`,
    "img/s",
    staged?.ips ?? NaN,
    onGpu?.ips ?? NaN,
    "higher",
    null,
    "",
    gpu && staged && onGpu
      ? `staged: ${epochs(staged)}; auto (${onGpu.where}): ${epochs(onGpu)}`
      : "not measured: needs a CUDA device (none here)",
  );
  const s = rowsOf<StepSpeed>(step);
  const cpuStep = s.find((r) => r.device === "cpu")!;
  const recipe = (r: StepSpeed) =>
    `default recipe (fashion-mnist preset's convnet, paper augmentation, ${r.imageSize} px ` +
    `views of ${r.storedSize} px images, b${r.batch}, precision 32)`;
  const stepNote = (r: StepSpeed) =>
    `${recipe(r)}, trainer's step object (${r.graphed ? "captured" : "eager"}; ${r.where}); ` +
    `median of ${r.all.length} blocks of ${r.stepsPerBlock} step(s): ${
      r.all.map((x) => x.toFixed(0)).join(", ")
    } ms/step`;
  ctx.rows.add(
    `training step consumes, CPU (1st column; no 2nd)`,
    "img/s",
    cpuStep.ips,
    NaN,
    "higher",
    null,
    "",
    stepNote(cpuStep),
  );
  ctx.rows.add(
    `loader >= step, CPU: loader in place (1st column) vs step (2nd)`,
    "img/s",
    inPlace.ips,
    cpuStep.ips,
    "higher",
    1,
    "loader >= step",
    `the ratio is the speed-up column`,
  );
  const gpuAuto = s.find((r) => r.device === "cuda" && r.placement === "auto");
  const gpuHost = s.find((r) => r.device === "cuda" && r.placement === "host");
  ctx.rows.add(
    `loader >= step, CUDA, staged: loader staged (1st column) vs step, placement host (2nd)`,
    "img/s",
    staged?.ips ?? NaN,
    gpuHost?.ips ?? NaN,
    "higher",
    gpu ? 1 : null,
    gpu ? "loader >= step" : "",
    gpuHost ? stepNote(gpuHost) : "not measured: needs a CUDA device (none here)",
  );
  ctx.rows.add(
    `loader >= step, CUDA, auto: loader auto (1st column) vs step, placement auto (2nd)`,
    "img/s",
    onGpu?.ips ?? NaN,
    gpuAuto?.ips ?? NaN,
    "higher",
    gpu ? 1 : null,
    gpu ? "loader >= step" : "",
    gpuAuto ? stepNote(gpuAuto) : "not measured: needs a CUDA device (none here)",
  );
}
