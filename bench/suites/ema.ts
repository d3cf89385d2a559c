// ema: the target network's update over ResNet-18 and its projector
// (bench/cases/ema.ts) against PyTorch's per-parameter loop.
import { type BenchContext, pair } from "../context.ts";
import { num } from "../sides.ts";

export async function run(ctx: BenchContext): Promise<void> {
  const [o, t] = await pair(ctx, "ema", { reps: ctx.options.quick ? 5 : 15 });
  ctx.details.ema = { ours: o, torch: t };
  ctx.rows.add(
    "ema resnet18+projector (vs per-param loop)",
    "ms",
    num(o.result.ms),
    num(t.result.ms),
    "lower",
    3,
    ">= 3",
    `torch._foreach: ${num(t.result.foreachMs).toFixed(2)} ms`,
  );
}
