// One rank of `deno task bench --only ddp` (bench/suites/ddp.ts starts them
// through bench/sides.ts; the PyTorch twin is bench/py/ddp.py):
//   deno run -A bench/ddp_rank.ts <mode> <rank> <world> <port> '<json params>'
// "allreduce": DDP's gradient average of ResNet-18's gradients (11.2M
// floats, 25 MB persistent buckets); "step": the BYOL model step
// (pre-made views of this rank's share of the global batch, loss, backward,
// gradients averaged by DDP, SGD, EMA), SyncBatchNorm when the world is > 1;
// {"overlap": false} launches the all-reduces after backward instead of from it;
// {"syncBatchNorm": false} keeps plain BatchNorm (per-rank statistics).
// Rank 0 prints one JSON object on stdout.
import { BYOL, distributed as dist, nn, randn, setNumThreads, tidy } from "../mod.ts";
import { decayParamGroups, SGD } from "../src/optim/mod.ts";
import { median } from "./lib.ts";
import type { CaseParams } from "./cases/params.ts";

const [mode, rankS, worldS, port, json] = Deno.args;
const rank = Number(rankS);
const world = Number(worldS);
const p = JSON.parse(json) as CaseParams & { batch?: number; side?: number };
setNumThreads(p.threads);
if (world > 1 || mode === "allreduce") {
  dist.initProcessGroup({
    backend: "gloo",
    initMethod: `tcp://127.0.0.1:${port}`,
    rank,
    worldSize: world,
    timeoutMs: 120_000,
  });
}

function timed(fn: () => void): { ms: number; all: number[] } {
  for (let i = 0; i < p.warmup; i++) fn();
  const all: number[] = [];
  const start = performance.now();
  for (let i = 0; i < p.reps; i++) {
    if (world > 1) dist.barrier(); // every rank starts the repetition together
    const t0 = performance.now();
    fn();
    all.push(performance.now() - t0);
    if (all.length >= 2 && performance.now() - start > p.budgetMs) break;
  }
  // Rank 0 reports; a repetition counts until the slowest rank is done, which
  // the all-reduces inside it already wait for.
  return { ms: median(all), all };
}

let result: Record<string, unknown>;
if (mode === "allreduce") {
  // DDP's gradient average as training runs it: ResNet-18's gradients (from
  // one backward), bound to DDP's persistent buckets, then averaged.
  const model = nn.resnet18({ stem: "cifar" });
  const params = model.parameters();
  const floats = params.reduce((a, t) => a + t.numel, 0);
  const ddp = new dist.DistributedDataParallel(model, {
    bucketBytes: (p.bucketBytes as number | undefined) ?? undefined,
  });
  tidy(() => {
    let total = params[0].sum();
    for (const t of params.slice(1)) total = total.add(t.sum());
    total.backward();
  });
  let buckets = 0;
  const t = timed(() => {
    buckets = ddp.syncGradients();
  });
  result = { ...t, floats, tensors: params.length, buckets };
} else if (mode === "step") {
  const batch = p.batch as number;
  const side = p.side as number;
  const local = batch / world;
  const encoder = nn.resnet18({ stem: "cifar" }).channelsLast();
  // syncBatchNorm: false times plain BatchNorm, PyTorch's twin's (its SyncBatchNorm has no CPU kernels).
  const syncBatchNorm = world > 1 && ((p.syncBatchNorm as boolean | undefined) ?? true);
  const byol = new BYOL(encoder, { hiddenDim: 4096, projectionDim: 256, syncBatchNorm });
  // overlap: false times the step with every all-reduce after backward.
  const overlapBackward = (p.overlap as boolean | undefined) ?? true;
  const ddp = world > 1 ? new dist.DistributedDataParallel(byol, { overlapBackward }) : null;
  const opt = new SGD(decayParamGroups(byol.namedOnlineParameters()), {
    lr: 0.05,
    weightDecay: 1e-4,
    momentum: 0.9,
  });
  const views = [0, 1].map(() => {
    using v = randn([local, 3, side, side]);
    return v.contiguous("channelsLast").keep();
  });
  let k = 0;
  const t = timed(() =>
    tidy(() => {
      const loss = byol.loss(views[0], views[1]);
      opt.zeroGrad();
      loss.backward();
      ddp?.syncGradients();
      opt.step();
      byol.updateTarget(k++, 1000);
    })
  );
  result = {
    ...t,
    batch,
    local,
    pairsPerSec: batch / (t.ms / 1e3),
    launchedInBackward: ddp?.bucketsLaunchedInBackward ?? 0,
  };
} else {
  throw new Error(`unknown mode ${mode}`);
}
if (dist.isInitialized()) dist.destroyProcessGroup();
if (rank === 0) console.log(JSON.stringify({ result }));
