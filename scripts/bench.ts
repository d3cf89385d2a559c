// `deno task bench`: our toolkit against PyTorch on the same libtorch, each
// benchmark side by side in one run, each side in its own process (so peak
// memory is per benchmark), the same thread count on both sides.
//
//   deno task bench [--only name,name] [--quick] [--threads N] [--step-case text]
//                   [--torch-channels-last] [--torch-malloc] [--ours-nchw]
//
// Benchmarks: matmul (the machine's float32 peak), op, resnet18, ema, optim,
// augment, step, ddp (2 local ranks per side: bench/ddp_rank.ts, bench/py/ddp.py), decode
// (the image decoders per core: native, imagescript and Pillow; bench/py/decode.py), loader
// (ours only: the loader's images/s over a mapped 1 GiB decode-cache-like file, in place, through
// the host stager and read into memory, beside the training step's images/s; bench/cases/loader.ts),
// each a suite in bench/suites/ run by bench/run.ts. Prints one table and writes
// bench/results/<date>.json, bench/results/latest.json and bench/results/latest.md
// (bench/report.ts).
import { Command, Option } from "../deps/commander.ts";
import { BENCHMARKS, isBenchmark, PRECISIONS } from "../bench/options.ts";
import { runBench } from "../bench/run.ts";
import { reportText, writeResults } from "../bench/report.ts";
import { log } from "../bench/log.ts";

const program = new Command()
  .name("deno task bench")
  .description(
    "each benchmark side by side with its PyTorch twin on the same libtorch, in one run; " +
      "writes bench/results/<date>.json, latest.json and latest.md",
  )
  .option("--only <names>", `comma-separated benchmarks: ${BENCHMARKS.join(", ")} (default: all)`)
  .option("--quick", "fewer repetitions", false)
  // Our step in NCHW (as `deno task train --no-channels-last`), for an A/B of the layout.
  .option("--ours-nchw", "our step in NCHW (as --no-channels-last)", false)
  // The PyTorch twins with glibc malloc tuned as our shim tunes it (env tunables).
  .option(
    "--torch-malloc",
    "PyTorch twins with glibc keeping freed memory mapped (mmap threshold 1 GiB, no trim)",
    false,
  )
  // The PyTorch twin of the step in channels-last too (the common recipe is NCHW).
  .option("--torch-channels-last", "the PyTorch step twin in channels-last too", false)
  .option(
    "--step-case <text>",
    'only the step cases whose label contains this ("convnet 28x28x1 default b32")',
  )
  .addOption(
    new Option("--precision <list>", `step precisions, comma-separated: ${PRECISIONS.join(", ")}`)
      .default("32"),
  )
  .option("--threads <n>", "threads on both sides", String(navigator.hardwareConcurrency || 2))
  // libgomp's default (active) spin-waits at every barrier: on a machine
  // shared with other busy processes a 2-thread op then costs milliseconds.
  // Passive waiting is set on both sides unless --omp-wait active.
  .addOption(
    new Option("--omp-wait <mode>", "OMP_WAIT_POLICY on both sides").choices(["passive", "active"])
      .default("passive"),
  )
  .showHelpAfterError();
program.parse(["deno", "bench", ...Deno.args]);
const opts = program.opts();

const threads = Number(opts.threads);
if (!(Number.isInteger(threads) && threads > 0)) {
  program.error(`--threads must be a positive integer, got ${opts.threads}`);
}
// --step-case alone: only the step (and the matmul peak it needs).
const only = opts.only?.split(",").map((s: string) => s.trim()).filter(Boolean) ??
  (opts.stepCase !== undefined ? ["step"] : [...BENCHMARKS]);
for (const n of only) {
  if (!isBenchmark(n)) {
    program.error(`--only: unknown benchmark "${n}"; known: ${BENCHMARKS.join(", ")}`);
  }
}
const precisions = String(opts.precision).split(",").map((s) => s.trim()).filter(Boolean);
for (const pr of precisions) {
  if (!(PRECISIONS as readonly string[]).includes(pr)) {
    program.error(`--precision: "${pr}" is not 32 or bf16-mixed`);
  }
}

const run = await runBench({
  only: only.filter(isBenchmark),
  quick: opts.quick,
  threads,
  ompWait: opts.ompWait,
  precisions,
  stepCase: opts.stepCase,
  oursNchw: opts.oursNchw,
  torchMalloc: opts.torchMalloc,
  torchChannelsLast: opts.torchChannelsLast,
});
console.log(reportText(run));
const stamp = await writeResults(run);
log(`wrote bench/results/${stamp}.json, latest.json, latest.md`);
