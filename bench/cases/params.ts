// Parameters every case gets from scripts/bench.ts (plus its own fields).
export interface CaseParams {
  threads: number;
  warmup: number;
  reps: number;
  /** Soft time limit per measurement, ms. */
  budgetMs: number;
  [key: string]: unknown;
}
