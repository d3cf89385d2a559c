// optim: one LARS, AdamW and SGD step over ResNet-18 and its projector
// (bench/cases/optim.ts), one row each.
import { type BenchContext, pair } from "../context.ts";

export async function run(ctx: BenchContext): Promise<void> {
  const [o, t] = await pair(ctx, "optim", { reps: ctx.options.quick ? 5 : 11 });
  ctx.details.optim = { ours: o, torch: t };
  const om = o.result.ms as Record<string, number>;
  const tm = t.result.ms as Record<string, number>;
  for (const k of ["LARS", "AdamW", "SGD"]) {
    const f = tm[`${k} foreach`];
    ctx.rows.add(
      `optim ${k} step resnet18+projector`,
      "ms",
      om[k],
      tm[k],
      "lower",
      null,
      "-",
      f === undefined ? "LARS hand-written in PyTorch" : `foreach=True: ${f.toFixed(2)} ms`,
    );
  }
}
