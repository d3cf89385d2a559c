// The DistributedDataParallel run of tests/distributed/ddp_test.ts, shared by
// the ranks (rank.ts "ddp": each its half of every global batch, SyncBatchNorm,
// gradients averaged by DDP) and the one-process reference in the test (the
// whole batch, plain BatchNorm): ResNet-18 with the CIFAR stem on 8x8
// images, BYOL, LARS as the trainer builds it, five steps, in float64.
//
// Why float64: in float32 this run is chaotic at the level of rounding. The
// one-process run alone, with 1 thread instead of 2, moves the step-5 loss by
// 4e-3 relative (3.1484 vs 3.1605; BYOL on a batch of 8 amplifies a 1e-7
// change of the first step's gradients), and 2 ranks land inside that band
// (3.1623). In float64 the same amplification leaves 2 ranks within about
// 3e-14 of one process, so the test can tell a real difference (a statistic
// or a gradient not synchronised moves the result by 1e-2 or more) from rounding.
import { manualSeed } from "../../ffi/runtime.ts";
import { randn } from "../../ffi/creation.ts";
import { tidy } from "../../ffi/memory.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import { resnet18 } from "../../src/nn/resnet.ts";
import { convertSyncBatchNorm } from "../../src/nn/sync_batchnorm.ts";
import { BYOL } from "../../src/byol/model.ts";
import { decayParamGroups, LARS } from "../../src/optim/mod.ts";
import { DistributedDataParallel } from "../../src/distributed/ddp.ts";
import { saveStateDict } from "../../src/io/tensors.ts";

export const STEPS = 5;
export const GLOBAL_BATCH = 8;
const SIDE = 8;
export const DTYPE = "float64";
/** Rank r builds its model from seed INIT_SEED + r; the reference from rank 0's. */
export const INIT_SEED = 100;

/**
 * BYOL over a channels-last ResNet-18 (CIFAR stem), as the trainer builds it
 * (then moved to float64, before the optimizer).
 * `sync`: "option" (BYOLOptions.syncBatchNorm), "after" (convertSyncBatchNorm
 * on the built model's modules) or "none".
 */
export function buildModel(seed: number, sync: "option" | "after" | "none"): {
  byol: BYOL;
  opt: LARS;
} {
  manualSeed(seed);
  const encoder = resnet18({ stem: "cifar" }).channelsLast();
  const byol = new BYOL(encoder, {
    projectionDim: 32,
    hiddenDim: 64,
    syncBatchNorm: sync === "option",
  });
  byol.to("cpu", DTYPE);
  if (sync === "after") {
    for (const m of [byol.encoder, byol.projector, byol.predictor]) convertSyncBatchNorm(m);
  }
  const opt = new LARS(decayParamGroups(byol.namedOnlineParameters()), {
    lr: 0.05,
    weightDecay: 1.5e-6,
    momentum: 0.9,
  });
  return { byol, opt };
}

/** Step `step`'s two global batches of views, the same on every rank (channels-last). */
function globalViews(step: number): [Tensor, Tensor] {
  manualSeed(5000 + step);
  return [0, 1].map(() => {
    using v = randn([GLOBAL_BATCH, 3, SIDE, SIDE], { dtype: DTYPE });
    return v.contiguous("channelsLast");
  }) as [Tensor, Tensor];
}

/**
 * Five training steps on rows [rank * n, (rank + 1) * n) of every global
 * batch (n = GLOBAL_BATCH / world): loss, backward, DDP's gradient average
 * (when given), optimizer step, EMA update. Returns the local losses.
 * Even steps drop the gradients before backward, odd steps zero them.
 * `launched` gets, per step, [buckets backward launched, buckets].
 */
export function train(
  byol: BYOL,
  opt: LARS,
  rank: number,
  world: number,
  ddp: DistributedDataParallel<BYOL> | null,
  launched: [number, number][] = [],
): number[] {
  const n = GLOBAL_BATCH / world;
  const losses: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    losses.push(tidy(() => {
      const [g1, g2] = globalViews(step);
      const v1 = g1.narrow(0, rank * n, n);
      const v2 = g2.narrow(0, rank * n, n);
      const loss = byol.loss(v1, v2);
      // Both ways to clear: dropped gradients (DDP copies the new ones into
      // its buckets) and zeroed ones (backward accumulates into the buckets).
      opt.zeroGrad({ setToNone: step % 2 === 0 });
      loss.backward();
      if (ddp) {
        const count = ddp.syncGradients();
        launched.push([ddp.bucketsLaunchedInBackward, count]);
      }
      opt.step();
      byol.updateTarget(step, STEPS);
      return loss.item();
    }));
  }
  return losses;
}

/** Online parameters, online buffers and the EMA target ("target." + name). */
export function modelState(byol: BYOL): Record<string, Tensor> {
  return Object.fromEntries([...byol.namedParameters(), ...byol.namedBuffers()]);
}

/** SHA-256 over every tensor of modelState, in order. */
export async function stateHash(byol: BYOL): Promise<string> {
  const parts = Object.values(modelState(byol)).map((t) => t.toBytes());
  const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const d = await crypto.subtle.digest("SHA-256", all);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A rank of the DDP run: builds its own differently-seeded model (rank 0 with
 * the SyncBN option, rank 1 converting after construction), wraps it in DDP,
 * trains, and writes its final state to `${outDir}/rank<r>.safetensors`.
 */
export async function ddpRank(
  rank: number,
  world: number,
  outDir: string,
  emit: (o: Record<string, unknown>) => void,
): Promise<void> {
  const { byol, opt } = buildModel(INIT_SEED + rank, rank === 0 ? "option" : "after");
  emit({ key: "hash_before", value: await stateHash(byol) });
  const ddp = new DistributedDataParallel(byol);
  emit({ key: "hash_after", value: await stateHash(byol) });
  const t0 = performance.now();
  const launched: [number, number][] = [];
  const losses = train(byol, opt, rank, world, ddp, launched);
  emit({ key: "train_ms", value: performance.now() - t0 });
  emit({ key: "launched", value: launched });
  emit({ key: "losses", value: losses });
  await saveStateDict(`${outDir}/rank${rank}.safetensors`, modelState(byol));
  emit({ key: "saved", value: true });
}
