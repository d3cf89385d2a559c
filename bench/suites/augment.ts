// augment: the cifar preset's two views of a batch (bench/cases/augment.ts)
// against a PyTorch DataLoader with 2 workers.
import { type BenchContext, pair } from "../context.ts";
import { num } from "../sides.ts";

export async function run(ctx: BenchContext): Promise<void> {
  const { presets } = await import("../../src/augment/presets.ts");
  const quick = ctx.options.quick;
  const batch = quick ? 64 : 256;
  const p = { batch, shape: [3, 32, 32], preset: "cifar", config: presets.cifar };
  const [o, t] = await pair(ctx, "augment", { ...p, reps: quick ? 3 : 7 });
  ctx.details.augment = { ours: o, torch: t };
  ctx.rows.add(
    `augment cifar two views b${batch}`,
    "ms/batch",
    num(o.result.ms),
    num(t.result.ms),
    "lower",
    5,
    ">= 5",
    "PyTorch: DataLoader, 2 workers",
  );
}
