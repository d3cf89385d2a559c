// Peak float32 matmul rate: (512 x 4096) @ (4096 x 512), GFLOP/s.
import { randn, tidy } from "../../mod.ts";
import { timeReps } from "../lib.ts";
import type { CaseParams } from "./params.ts";

export function run(p: CaseParams): { gflops: number; ms: number } {
  const [m, n, k] = [512, 512, 4096];
  using a = randn([m, k]);
  using b = randn([k, n]);
  const iters = 5;
  const t = timeReps(() =>
    tidy(() => {
      for (let i = 0; i < iters; i++) a.matmul(b);
    }), { warmup: 1, reps: p.reps + 2 });
  const ms = t.ms / iters;
  return { gflops: (2 * m * n * k) / (ms / 1e3) / 1e9, ms };
}
