// Parameters every case gets from `deno task bench` (bench/context.ts's
// baseParams, plus its suite's own fields).
export interface CaseParams {
  threads: number;
  warmup: number;
  reps: number;
  /** Soft time limit per measurement, ms. */
  budgetMs: number;
  [key: string]: unknown;
}
