// ddp: two local ranks per side over Gloo on loopback (ours: bench/ddp_rank.ts,
// the twin: bench/py/ddp.py): the all-reduce of ResNet-18's gradients, and the
// BYOL step under DDP against PyTorch DDP and against our own other
// configurations (1 rank x 2 threads, all-reduce after backward, plain BatchNorm).
import type { BenchContext } from "../context.ts";
import { median } from "../lib.ts";
import { log } from "../log.ts";
import { loadavg } from "../machine.ts";
import { num, type SideOut } from "../sides.ts";

export async function run(ctx: BenchContext): Promise<void> {
  const quick = ctx.options.quick;
  const ranks = (
    side: "ours" | "torch",
    mode: string,
    world: number,
    perRank: number,
    p: Record<string, unknown>,
  ) => ctx.sides.ranks(side, mode, world, perRank, { ...ctx.base, ...p });
  const addRow = ctx.rows.add.bind(ctx.rows);

  log(`ddp all-reduce 2 ranks (load ${loadavg()})`);
  // A few alternating rounds (each side's median of its rounds' medians): a
  // single round of each moves by 10-20% with the machine's state.
  const rounds = quick ? 1 : 3;
  const oursMs: number[] = [];
  const torchMs: number[] = [];
  let o: SideOut | null = null;
  for (let i = 0; i < rounds; i++) {
    o = await ranks("ours", "allreduce", 2, 1, {});
    oursMs.push(num(o.result.ms));
    torchMs.push(num((await ranks("torch", "allreduce", 2, 1, {})).result.ms));
  }
  addRow(
    `ddp all-reduce ResNet-18 grads (${(num(o!.result.floats) / 1e6).toFixed(1)}M f32), 2 ranks`,
    "ms",
    median(oursMs),
    median(torchMs),
    "lower",
    0.95,
    ">= 0.95",
    `ours: DistributedDataParallel.syncGradients, ${o!.result.tensors} gradients in ` +
      `${o!.result.buckets} persistent buckets, averaged; PyTorch: dist.all_reduce of one flat ` +
      `buffer; median of ${rounds} alternating rounds (ours ${oursMs.map((x) => x.toFixed(1))}, ` +
      `PyTorch ${torchMs.map((x) => x.toFixed(1))} ms)`,
  );
  const batch = quick ? 32 : 64;
  const stepP = { batch, side: 32 };
  log(`ddp BYOL step b${batch} (load ${loadavg()})`);
  const o2 = await ranks("ours", "step", 2, 1, stepP);
  const t2 = await ranks("torch", "step", 2, 1, stepP);
  const o1 = await ranks("ours", "step", 1, 2, stepP);
  const oOff = await ranks("ours", "step", 2, 1, { ...stepP, overlap: false });
  const oPlain = await ranks("ours", "step", 2, 1, { ...stepP, syncBatchNorm: false });
  addRow(
    `ddp BYOL step resnet18 32x32 b${batch}, 2 ranks x 1 thread`,
    "ms",
    num(o2.result.ms),
    num(t2.result.ms),
    "lower",
    1.0,
    ">= 1.0",
    "ours with SyncBatchNorm and DDP; PyTorch DDP (gloo) with plain BatchNorm",
  );
  // The rows below compare two of our own configurations (or ours with the twin) without a goal.
  const stepRow = (label: string, ours: SideOut, other: SideOut, note: string) =>
    addRow(label, "ms", num(ours.result.ms), num(other.result.ms), "lower", null, "-", note);
  stepRow(
    `ddp BYOL step b${batch}, 2 ranks x 1 thread, plain BatchNorm on both sides`,
    oPlain,
    t2,
    "like for like: ours DDP without SyncBatchNorm (per-rank BN statistics, as the twin's)",
  );
  stepRow(
    `ddp BYOL step b${batch}: ours 2 ranks x 1 thread vs ours 1 rank x 2 threads`,
    o2,
    o1,
    "what splitting one machine into ranks costs (the PyTorch column is ours, 1 rank)",
  );
  stepRow(
    `ddp BYOL step b${batch}: ours overlapped vs ours all-reduce after backward, 2 ranks`,
    o2,
    oOff,
    `the PyTorch column is ours with overlapBackward: false; backward launched ` +
      `${o2.result.launchedInBackward} buckets itself`,
  );
  ctx.details.ddp = {
    allreduce: { ours: o, oursMs, torchMs },
    step: { ours2: o2, torch2: t2, ours1: o1, oursNoOverlap: oOff, oursPlainBn: oPlain },
  };
}
