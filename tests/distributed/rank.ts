// One Deno rank of the distributed tests (tests/distributed/interop_test.ts);
// tests/distributed/rank.py is its PyTorch twin, step for step.
//   deno run --allow-all tests/distributed/rank.ts <scenario> <rank> <world> <port> <timeoutMs>
// Scenarios: "syncbn" (tests/distributed/_syncbn_cases.ts), "torchrun" (init from torchrun's environment, one all-reduce), "interop" (every collective, results as "@@" JSON lines), "fault"
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
} else {
  throw new Error(`unknown scenario ${scenario}`);
}
dist.destroyProcessGroup();
emit({ key: "elapsed_ms", value: performance.now() - t0 });
emit({ done: true });
