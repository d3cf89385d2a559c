// matmul: the machine's float32 peak on both sides (bench/cases/matmul.ts),
// which the step's FLOP/s share is measured against.
import { type BenchContext, pair } from "../context.ts";
import { num } from "../sides.ts";

export async function run(ctx: BenchContext): Promise<void> {
  const [o, t] = await pair(ctx, "matmul", {});
  ctx.peakGflops = Math.max(num(o.result.gflops), num(t.result.gflops));
  ctx.details.matmul = { ours: o, torch: t };
  ctx.rows.add(
    "matmul 512x512x4096 f32",
    "GFLOP/s",
    num(o.result.gflops),
    num(t.result.gflops),
    "higher",
    null,
    "-",
  );
}
