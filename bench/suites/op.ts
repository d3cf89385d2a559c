// op: the cost of one small op through the shim (bench/cases/op.ts), freed
// at once and inside tidy, against PyTorch's.
import { type BenchContext, pair } from "../context.ts";
import { num } from "../sides.ts";

export async function run(ctx: BenchContext): Promise<void> {
  const n = ctx.options.quick ? 20_000 : 200_000;
  const [o, t] = await pair(ctx, "op", { n });
  ctx.details.op = { ours: o, torch: t };
  const goalText = ">= 1.25 (time <= 0.8x)";
  ctx.rows.add(
    `op a.add(b), dispose (N=${n})`,
    "ns/op",
    num(o.result.nsDispose),
    num(t.result.nsPerOp),
    "lower",
    1.25,
    goalText,
  );
  ctx.rows.add(
    `op a.add(b), in tidy (N=${n})`,
    "ns/op",
    num(o.result.nsTidy),
    num(t.result.nsPerOp),
    "lower",
    1.25,
    goalText,
  );
}
