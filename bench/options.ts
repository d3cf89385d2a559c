// What one `deno task bench` run is asked for: the benchmarks, the step
// precisions, the thread count and the A/B switches (scripts/bench.ts parses
// them from the command line).

/** Every benchmark, in the order a run takes them. */
export const BENCHMARKS = [
  "matmul",
  "op",
  "resnet18",
  "ema",
  "optim",
  "augment",
  "step",
  "host",
  "ddp",
  "decode",
  "loader",
] as const;
export type Benchmark = typeof BENCHMARKS[number];

export function isBenchmark(name: string): name is Benchmark {
  return (BENCHMARKS as readonly string[]).includes(name);
}

/** The step's precisions (TrainConfig's --precision values the twin has too). */
export const PRECISIONS = ["32", "bf16-mixed"] as const;

export interface BenchOptions {
  /** The benchmarks asked for; step brings matmul along (its FLOP/s share needs the peak). */
  only: Benchmark[];
  /** Fewer repetitions. */
  quick: boolean;
  /** Threads on both sides. */
  threads: number;
  /** OMP_WAIT_POLICY on both sides. */
  ompWait: "passive" | "active";
  /** Step precisions. */
  precisions: string[];
  /** Only the step cases whose label contains this (and the step runs even if not in `only`). */
  stepCase?: string;
  /** Our step in NCHW (as `deno task train --no-channels-last`). */
  oursNchw: boolean;
  /** The PyTorch twins with glibc malloc tuned as our shim tunes it. */
  torchMalloc: boolean;
  /** The PyTorch step twin in channels-last too. */
  torchChannelsLast: boolean;
}
