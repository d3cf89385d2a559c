// What every suite of a bench run (bench/suites/<name>.ts) gets: the run's
// options, the repetitions every case starts from, the two sides, the table's
// rows and the details written to the results JSON.
import type { CaseParams } from "./cases/params.ts";
import { log } from "./log.ts";
import { loadavg } from "./machine.ts";
import type { BenchOptions } from "./options.ts";
import type { Rows } from "./rows.ts";
import type { SideOut, Sides } from "./sides.ts";

export interface BenchContext {
  options: BenchOptions;
  /** Threads and repetitions every case gets (a suite's own fields override them). */
  base: CaseParams;
  sides: Sides;
  rows: Rows;
  /** Each suite's raw results under its name, for the results JSON. */
  details: Record<string, unknown>;
  /** The matmul peak of this run, GFLOP/s (NaN until matmul ran): the step's FLOP/s share. */
  peakGflops: number;
}

/** The repetitions every case starts from (--quick: fewer). */
export function baseParams(quick: boolean, threads: number): CaseParams {
  return quick
    ? { threads, warmup: 1, reps: 3, budgetMs: 4_000 }
    : { threads, warmup: 2, reps: 7, budgetMs: 15_000 };
}

/** One case on both sides, ours then PyTorch, with `p` over the base parameters. */
export async function pair(
  ctx: BenchContext,
  name: string,
  p: Record<string, unknown>,
): Promise<[SideOut, SideOut]> {
  const shown = Object.entries(p).filter(([k]) => k !== "config").map(([k, v]) => `${k}=${v}`);
  log(`${name} ${shown.join(" ")} (load ${loadavg()})`);
  const o = await ctx.sides.ours(name, { ...ctx.base, ...p } as CaseParams);
  const t = await ctx.sides.torch(name, { ...ctx.base, ...p });
  return [o, t];
}
