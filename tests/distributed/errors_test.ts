// The distributed module's errors, in-process: rendezvous (no sockets), the
// uninitialised group, backends, and a world of one for the tensor checks.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import * as dist from "../../src/distributed/mod.ts";
import { TorchError } from "../../ffi/error.ts";
import { compiledWithCuda, cuda } from "../../ffi/runtime.ts";
import { tensor, zeros } from "../../ffi/creation.ts";
import { readShimInfo } from "../../ffi/shim_path.ts";
import { freePort } from "./_ranks.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];
const TORCHRUN = { RANK: "1", WORLD_SIZE: "4", MASTER_ADDR: "10.0.0.2", MASTER_PORT: "29500" };

Deno.test("rendezvous: env:// reads torchrun's variables; rank 0 hosts the store", () => {
  const r = dist.resolveRendezvous({}, env(TORCHRUN));
  assertEquals(r, {
    backend: "gloo",
    host: "10.0.0.2",
    port: 29500,
    rank: 1,
    worldSize: 4,
    timeoutMs: dist.DEFAULT_TIMEOUT_MS,
    isServer: false,
    prefix: "",
  });
  assertEquals(dist.resolveRendezvous({}, env({ ...TORCHRUN, RANK: "0" })).isServer, true);
});

Deno.test("rendezvous: torchrun's agent store makes every rank a client (under its attempt on 1.13)", () => {
  const agent = env({
    ...TORCHRUN,
    RANK: "0",
    TORCHELASTIC_USE_AGENT_STORE: "True",
    TORCHELASTIC_RESTART_COUNT: "2",
  });
  const r = dist.resolveRendezvous({}, agent, "1.13.0");
  assertEquals([r.isServer, r.prefix], [false, "/worker/attempt_2"]);
  // 2.x's agent makes a new store for every restart: no prefix.
  const r2 = dist.resolveRendezvous({}, agent, "2.14.1+cu130");
  assertEquals([r2.isServer, r2.prefix], [false, ""]);
  assertThrows(
    () => dist.resolveRendezvous({}, env({ ...TORCHRUN, TORCHELASTIC_USE_AGENT_STORE: "True" })),
    TorchError,
    "TORCHELASTIC_RESTART_COUNT",
  );
});

Deno.test("rendezvous: a missing variable, a bad init method, a bad rank are named", () => {
  for (const name of Object.keys(TORCHRUN)) {
    const vars: Record<string, string> = { ...TORCHRUN };
    delete vars[name];
    assertThrows(() => dist.resolveRendezvous({}, env(vars)), TorchError, `variable ${name}`);
  }
  assertThrows(
    () => dist.resolveRendezvous({ initMethod: "file:///tmp/x" }, env({})),
    TorchError,
    "bad init method",
  );
  assertThrows(
    () => dist.resolveRendezvous({ initMethod: "tcp://127.0.0.1" }, env({})),
    TorchError,
    "port number missing",
  );
  assertThrows(
    () => dist.resolveRendezvous({ initMethod: "tcp://127.0.0.1:29500", worldSize: 2 }, env({})),
    TorchError,
    "rank missing",
  );
  assertThrows(
    () => dist.resolveRendezvous({ initMethod: "tcp://h:1", rank: 2, worldSize: 2 }, env({})),
    TorchError,
    "rank 2 is outside 0..1",
  );
  const q = dist.resolveRendezvous({ initMethod: "tcp://h:7?rank=1&world_size=3" }, env({}));
  assertEquals([q.host, q.port, q.rank, q.worldSize], ["h", 7, 1, 3]);
});

Deno.test("distributed: not initialised, nccl and unknown backends are refused clearly", () => {
  assertEquals(dist.isInitialized(), false);
  assertThrows(() => dist.getRank(), TorchError, "has not been initialized");
  assertThrows(() => dist.allReduce(zeros([2])), TorchError, "has not been initialized");
  assertThrows(() => dist.destroyProcessGroup(), TorchError, "not initialized");
  const tcp = { initMethod: "tcp://127.0.0.1:1", rank: 0, worldSize: 1 };
  if (!cuda.isAvailable()) {
    assertThrows(
      () => dist.initProcessGroup({ ...tcp, backend: "nccl" }),
      TorchError,
      !compiledWithCuda
        ? "CPU-only"
        : dist.isNcclAvailable()
        ? "needs a CUDA device"
        : "without NCCL",
    );
  }
  assertThrows(
    () => dist.initProcessGroup({ ...tcp, backend: "mpi" }),
    TorchError,
    "unknown backend",
  );
});

Deno.test("distributed: the shim has NCCL exactly when its build found NCCL and CUDA's headers", () => {
  const info = readShimInfo();
  assert(info?.distributed !== undefined, "build-info records the distributed build");
  assertEquals(dist.isGlooAvailable(), info.distributed.gloo);
  assertEquals(dist.isNcclAvailable(), info.distributed.nccl === true);
  if (dist.isNcclAvailable()) assert(compiledWithCuda, "NCCL only in a CUDA build");
});

Deno.test({
  name: "distributed: a world of one; tensors Gloo cannot take are refused with the reason",
  ignore: !dist.isGlooAvailable(),
  fn: () => {
    dist.initProcessGroup({
      initMethod: `tcp://127.0.0.1:${freePort()}`,
      rank: 0,
      worldSize: 1,
      timeoutMs: 5000,
    });
    try {
      assertEquals([dist.isInitialized(), dist.getRank(), dist.getWorldSize()], [true, 0, 1]);
      assertThrows(() => dist.initProcessGroup({}), TorchError, "twice");
      using x = tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3] });
      dist.allReduce(x, { op: "avg" });
      assertEquals(x.toArray(), [[1, 2, 3], [4, 5, 6]]);
      using t = x.transpose(0, 1);
      assertThrows(() => dist.allReduce(t), TorchError, "contiguous");
      // The bucketed all-reduce takes any dense layout (channels-last gradients).
      assertEquals(dist.allReduceBuckets([t]), 1);
      assertEquals(t.toArray(), [[1, 4], [2, 5], [3, 6]]);
      using ints = tensor(new BigInt64Array([1n, 2n]));
      assertThrows(() => dist.allReduce(ints, { op: "avg" }), TorchError, "floating-point");
      assertThrows(() => dist.broadcast(x, { src: 1 }), TorchError, "src 1 is outside 0..0");
      const [g] = dist.allGather(x);
      assertEquals(g.toArray(), x.toArray());
      g.dispose();
      dist.barrier();
    } finally {
      dist.destroyProcessGroup();
    }
    assertEquals(dist.isInitialized(), false);
  },
});

Deno.test({
  name: "distributed: a rank alone in a world of two fails init within its timeout, saying why",
  ignore: !dist.isGlooAvailable(),
  fn: () => {
    const t0 = Date.now();
    const e = assertThrows(
      () =>
        dist.initProcessGroup({
          initMethod: `tcp://127.0.0.1:${freePort()}`,
          rank: 0,
          worldSize: 2,
          timeoutMs: 1000,
        }),
      TorchError,
      "init_process_group (rank 0 of 2, timeout 1000 ms) failed",
    );
    assert(e.message.includes("did all 2 ranks start"), e.message);
    // The store's and Gloo's rendezvous waits each take up to the timeout.
    assert(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
    assertEquals(dist.isInitialized(), false);
  },
});
