// One Deno rank of the distributed tests (tests/distributed/interop_test.ts);
// tests/distributed/rank.py is its PyTorch twin, step for step.
//   deno run --allow-all tests/distributed/rank.ts <scenario> <rank> <world> <port> <timeoutMs>
// Scenarios: "syncbn" (tests/distributed/_syncbn_cases.ts), "syncbn_fault" (a peer
// dies between a SyncBatchNorm forward and its backward), "ddp" (_ddp_cases.ts), "ddp_unused" (rank 0 without gradients), "ddp_overlap" (noSync, a second backward, overlap off), "torchrun" (init from torchrun's environment, one all-reduce), "interop" (every collective, results as "@@" JSON lines), "fault"
// (init, one all-reduce, "@@ready", then one more all-reduce after a line on
// stdin: a killed peer makes it fail).
// Results: "@@{...}" lines on stdout: {key, hex} (bytes of a small result),
// {key, sha256} (a large one), {key, value}; the last one is {done: true}.
import * as dist from "../../src/distributed/mod.ts";
import { tensor } from "../../ffi/creation.ts";
import type { Tensor } from "../../ffi/tensor.ts";

const [scenario, rankS, worldS, portS, timeoutS] = Deno.args;
const rank = Number(rankS);
const world = Number(worldS);

function emit(o: Record<string, unknown>): void {
  console.log("@@" + JSON.stringify(o));
}

/** The test input of `rank`, `k`: float32 of ((i * 0.731 + rank * 1.37 + k * 0.113) % 3) - 1.5. */
function input(r: number, k: number, n = 7): Tensor {
  return tensor(
    Float32Array.from({ length: n }, (_, i) => ((i * 0.731 + r * 1.37 + k * 0.113) % 3) - 1.5),
  );
}

function hex(t: Tensor): string {
  return Array.from(t.toBytes(), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha(t: Tensor): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new Uint8Array(t.toBytes()));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function readLine(): Promise<void> {
  const buf = new Uint8Array(64);
  await Deno.stdin.read(buf);
}

const t0 = performance.now();
if (scenario === "torchrun") {
  // Everything from torchrun's environment (RANK, WORLD_SIZE, MASTER_*, TORCHELASTIC_*).
  dist.initProcessGroup({ timeoutMs: 20_000 });
} else {
  dist.initProcessGroup({
    backend: "gloo",
    initMethod: `tcp://127.0.0.1:${portS}`,
    rank,
    worldSize: world,
    timeoutMs: Number(timeoutS),
  });
}
emit({ key: "init", value: { rank: dist.getRank(), world: dist.getWorldSize() } });

if (scenario === "interop") {
  const ops = [["sum", 0], ["max", 1], ["min", 2], ["avg", 3], ["product", 4]] as const;
  for (const [op, k] of ops) {
    const x = input(rank, k);
    dist.allReduce(x, { op });
    emit({ key: op, hex: hex(x) });
  }
  const ints = tensor(BigInt64Array.from({ length: 5 }, (_, i) => BigInt(rank * 10 + i)));
  dist.allReduce(ints);
  emit({ key: "int_sum", hex: hex(ints) });
  for (let src = 0; src < world; src++) {
    const x = input(rank, 5 + src);
    dist.broadcast(x, { src });
    emit({ key: `bcast${src}`, hex: hex(x) });
  }
  const gathered = dist.allGather(input(rank, 9));
  gathered.forEach((g, i) => emit({ key: `gather${i}`, hex: hex(g) }));
  dist.barrier();
  emit({ key: "barrier", value: "ok" });

  // Bucketed gradient all-reduce (average), then the same values per tensor.
  const sizes = [12, 5, 8, 7, 300_000];
  const grads = sizes.map((n, j) => input(rank, 20 + j, n));
  const nb = dist.allReduceBuckets(grads, { bucketBytes: 64, average: true });
  emit({ key: "nbuckets", value: nb });
  for (const [j, g] of grads.entries()) {
    emit(j < 4 ? { key: `bucket${j}`, hex: hex(g) } : { key: `bucket${j}`, sha256: await sha(g) });
  }
  for (const [j, n] of sizes.entries()) {
    const x = input(rank, 20 + j, n);
    dist.allReduce(x, { op: "avg" });
    emit(j < 4 ? { key: `plain${j}`, hex: hex(x) } : { key: `plain${j}`, sha256: await sha(x) });
  }
} else if (scenario === "torchrun") {
  const x = input(dist.getRank(), 0);
  dist.allReduce(x);
  emit({ key: "sum", hex: hex(x) });
  emit({ key: "env", value: Deno.env.get("TORCHELASTIC_USE_AGENT_STORE") ?? null });
} else if (scenario === "fault") {
  const x = input(rank, 0);
  dist.allReduce(x);
  emit({ key: "ready", value: true });
  await readLine();
  const t = performance.now();
  try {
    dist.allReduce(input(rank, 1));
    emit({ key: "fault", value: { ok: true } });
  } catch (e) {
    const err = e as Error;
    emit({
      key: "fault",
      value: { ok: false, name: err.name, message: err.message, ms: performance.now() - t },
    });
  }
} else if (scenario === "syncbn") {
  // tests/distributed/sync_batchnorm_test.ts: SyncBatchNorm over this rank's slices.
  const { syncbnRank } = await import("./_syncbn_cases.ts");
  syncbnRank(rank, emit);
} else if (scenario === "syncbn_fault") {
  // A SyncBatchNorm forward on both ranks, "@@ready", then (after a line on
  // stdin) its backward: a peer killed in between makes the backward's all-reduce fail.
  const { SyncBatchNorm } = await import("../../src/nn/sync_batchnorm.ts");
  const bn = new SyncBatchNorm(2);
  const x = input(rank, 0, 8).view([4, 2]).clone().requiresGrad_(true);
  const y = bn.forward(x);
  const loss = y.mul(y).sum();
  emit({ key: "ready", value: true });
  await readLine();
  const t = performance.now();
  try {
    loss.backward();
    emit({ key: "fault", value: { ok: true } });
  } catch (e) {
    const err = e as Error;
    emit({
      key: "fault",
      value: { ok: false, name: err.name, message: err.message, ms: performance.now() - t },
    });
  }
} else if (scenario === "ddp_unused") {
  // DDP over a Linear; only rank 1 runs a backward, so rank 0 has no gradients.
  const { Linear } = await import("../../src/nn/layers.ts");
  const ddp = new dist.DistributedDataParallel(new Linear(3, 2));
  if (rank === 1) ddp.module.forward(input(rank, 0, 6).view([2, 3])).sum().backward();
  try {
    ddp.syncGradients();
    emit({ key: "unused", value: { ok: true } });
  } catch (e) {
    const err = e as Error;
    emit({ key: "unused", value: { ok: false, name: err.name, message: err.message } });
  }
} else if (scenario === "ddp_overlap") {
  // DDP over a Linear(3, 2) with 1-byte buckets (one per tensor: bias, then
  // weight, as backward makes them). Loss of pass k: forward(x_k).sum(), x_k
  // the 2x3 rows of input(rank, k, 6); the test knows the exact gradients.
  const { Linear } = await import("../../src/nn/layers.ts");
  const grads = (m: InstanceType<typeof Linear>) =>
    m.parameters().map((p) => Array.from(p.grad!.toTypedArray() as Float32Array));
  const pass = (m: InstanceType<typeof Linear>, k: number) =>
    m.forward(input(rank, k, 6).view([2, 3])).sum().backward();
  const zero = (m: InstanceType<typeof Linear>) => {
    for (const p of m.parameters()) p.grad?.zero_();
  };
  const m = new Linear(3, 2);
  const ddp = new dist.DistributedDataParallel(m, { bucketBytes: 1 });
  // 1. One pass: backward launches both buckets.
  pass(m, 0);
  const n1 = ddp.syncGradients();
  emit({
    key: "one",
    value: { buckets: n1, early: ddp.bucketsLaunchedInBackward, grads: grads(m) },
  });
  // 2. Passes 1 and 2 accumulated, the first inside noSync.
  zero(m);
  ddp.noSync(() => pass(m, 1));
  pass(m, 2);
  ddp.syncGradients();
  emit({ key: "nosync", value: { early: ddp.bucketsLaunchedInBackward, grads: grads(m) } });
  // 3. Two passes without noSync: every rank fails, naming the parameter.
  zero(m);
  pass(m, 3);
  pass(m, 4);
  let message = "";
  try {
    ddp.syncGradients();
  } catch (e) {
    message = `${(e as Error).name}: ${(e as Error).message}`;
  }
  // 4. The next iteration works again.
  zero(m);
  pass(m, 5);
  ddp.syncGradients();
  emit({ key: "twice", value: { message, after: grads(m) } });
  ddp.dispose();
  // 5. Overlap off: nothing launched by backward, the same average.
  const off = new Linear(3, 2);
  const ddpOff = new dist.DistributedDataParallel(off, { bucketBytes: 1, overlapBackward: false });
  pass(off, 0);
  ddpOff.syncGradients();
  emit({ key: "off", value: { early: ddpOff.bucketsLaunchedInBackward, grads: grads(off) } });
  ddpOff.dispose();
} else if (scenario === "ddp") {
  // tests/distributed/ddp_test.ts: BYOL under DistributedDataParallel; the state goes to $DDP_OUT.
  const { ddpRank } = await import("./_ddp_cases.ts");
  await ddpRank(rank, world, Deno.env.get("DDP_OUT")!, emit);
} else {
  throw new Error(`unknown scenario ${scenario}`);
}
dist.destroyProcessGroup();
emit({ key: "elapsed_ms", value: performance.now() - t0 });
emit({ done: true });
