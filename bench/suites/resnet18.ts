// resnet18: forward and backward of ResNet-18 (CIFAR stem) on a random batch
// (bench/cases/resnet18.ts), images/s.
import { type BenchContext, pair } from "../context.ts";
import { num } from "../sides.ts";

export async function run(ctx: BenchContext): Promise<void> {
  const quick = ctx.options.quick;
  const batch = quick ? 16 : 128;
  const [o, t] = await pair(ctx, "resnet18", { batch, warmup: 1, reps: quick ? 2 : 3 });
  ctx.details.resnet18 = { ours: o, torch: t };
  ctx.rows.add(
    `resnet18 cifar fwd+bwd b${batch}`,
    "img/s",
    num(o.result.imagesPerSec),
    num(t.result.imagesPerSec),
    "higher",
    1.0,
    ">= 1.0",
  );
}
