// The default process group, under PyTorch's names: initProcessGroup builds a
// TCPStore and a Gloo group exactly as torch.distributed.init_process_group
// does, so Deno and PyTorch ranks can share one group.
import {
  DEFAULT_BUCKET_BYTES,
  type GradBuckets,
  hasGloo,
  hasNccl,
  ProcessGroup,
  type ReduceOpName,
  Store,
} from "../../ffi/distributed.ts";
import { TorchError } from "../../ffi/error.ts";
import { TensorList } from "../../ffi/lists.ts";
import { compiledWithCuda, cuda } from "../../ffi/runtime.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import { type InitOptions, resolveRendezvous } from "./rendezvous.ts";

/** torch.distributed.ReduceOp's members, as the names allReduce takes. */
export const ReduceOp = {
  SUM: "sum",
  PRODUCT: "product",
  MIN: "min",
  MAX: "max",
  AVG: "avg",
} as const satisfies Record<string, ReduceOpName>;

let world: { store: Store; group: ProcessGroup } | null = null;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function groupOf(op: string): ProcessGroup {
  if (world === null) {
    throw new TorchError(
      op,
      "Default process group has not been initialized, please make sure to call " +
        "initProcessGroup()",
    );
  }
  return world.group;
}

/** True when this shim can make Gloo groups (built with libgloo-dev's headers). */
export function isGlooAvailable(): boolean {
  return hasGloo();
}

/** True when this shim can make NCCL groups (built against a CUDA libtorch 2.x with NCCL). */
export function isNcclAvailable(): boolean {
  return hasNccl();
}

/**
 * torch.distributed.init_process_group. With no arguments, torchrun's
 * environment: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (and
 * TORCHELASTIC_USE_AGENT_STORE, TORCHELASTIC_RESTART_COUNT). Blocks until
 * every rank joined or `timeoutMs` passed.
 */
export function initProcessGroup(opts: InitOptions = {}): void {
  if (world !== null) {
    throw new TorchError(
      "init_process_group",
      "trying to initialize the default process group twice (destroyProcessGroup() first)",
    );
  }
  const r = resolveRendezvous(opts, env);
  if (r.backend === "nccl") checkNccl();
  else if (r.backend !== "gloo") {
    throw new TorchError(
      "init_process_group",
      `unknown backend ${JSON.stringify(r.backend)} (supported: "gloo", "nccl")`,
    );
  }
  if (!hasGloo()) {
    throw new TorchError(
      "init_process_group",
      "this shim was built without Gloo: apt-get install libgloo-dev and rebuild (deno task build)",
    );
  }
  let store: Store;
  try {
    store = new Store(r);
  } catch (e) {
    // A store server that waits for its clients (libtorch 2.x's classic
    // server does) times out here rather than in the group's rendezvous.
    const why = (e as Error).message;
    if (!/time/i.test(why)) throw e;
    throw new TorchError(
      "init_process_group",
      `init_process_group (rank ${r.rank} of ${r.worldSize}, timeout ${r.timeoutMs} ms) ` +
        `failed: ${why} (did all ${r.worldSize} ranks start and reach init_process_group ` +
        "within the timeout?)",
      { cause: e },
    );
  }
  try {
    world = { store, group: new ProcessGroup(store, r.rank, r.worldSize, r.backend, r.timeoutMs) };
  } catch (e) {
    store.dispose();
    throw e;
  }
}

/** Refuses "nccl" where it cannot run, before any socket is opened. */
function checkNccl(): void {
  const why = !compiledWithCuda
    ? 'backend "nccl" needs a shim built with CUDA and NCCL; this one is CPU-only: use "gloo"'
    : !hasNccl()
    ? 'backend "nccl": this shim was built with CUDA but without NCCL (deno task build says ' +
      'which of nccl.h, ProcessGroupNCCL.hpp or the CUDA headers it missed): use "gloo"'
    : !cuda.isAvailable()
    ? 'backend "nccl" needs a CUDA device and none is available here: use "gloo"'
    : null;
  if (why !== null) throw new TorchError("init_process_group", why);
}

export function isInitialized(): boolean {
  return world !== null;
}

export function getRank(): number {
  return groupOf("get_rank").rank;
}

export function getWorldSize(): number {
  return groupOf("get_world_size").worldSize;
}

export function getBackend(): string {
  return groupOf("get_backend").backend;
}

/** In place: every rank ends with the reduction over the ranks (default op "sum"). */
export function allReduce(t: Tensor, opts: { op?: ReduceOpName } = {}): void {
  groupOf("all_reduce").allReduce(t, opts.op ?? "sum");
}

/** In place: every rank ends with rank `src`'s values. */
export function broadcast(t: Tensor, opts: { src: number }): void {
  groupOf("broadcast").broadcast(t, opts.src);
}

/** Every rank's `t`, in rank order (new tensors, owned by the caller). */
export function allGather(t: Tensor): Tensor[] {
  return groupOf("all_gather").allGather(t);
}

export function barrier(): void {
  groupOf("barrier").barrier();
}

/**
 * torch.distributed.nn.functional.all_reduce (sum): a new tensor holding the
 * sum of `t` over the ranks, through autograd: its backward sums the gradient
 * over the ranks. Every rank must call it, and run the backward, in the same
 * order. SyncBatchNorm's statistics go through it.
 */
export function allReduceWithGrad(t: Tensor): Tensor {
  return groupOf("all_reduce").allReduceWithGrad(t);
}

/**
 * Averages (or sums) gradients over the ranks in one call: see
 * ProcessGroup.allReduceBuckets. Returns the number of buckets.
 */
export function allReduceBuckets(
  tensors: TensorList | readonly Tensor[],
  opts: { bucketBytes?: number; average?: boolean } = {},
): number {
  const g = groupOf("all_reduce_buckets");
  const list = tensors instanceof TensorList
    ? tensors
    : new TensorList(tensors, { label: "the all-reduce list" });
  return g.allReduceBuckets(list, {
    bucketBytes: opts.bucketBytes ?? DEFAULT_BUCKET_BYTES,
    average: opts.average,
  });
}

/** DistributedDataParallel's hooks: backward launches the buckets over the default group. */
export function armGradBuckets(buckets: GradBuckets): void {
  buckets.arm(groupOf("all_reduce"));
}

/** Launches the buckets backward did not launch, over the default group (GradBuckets.finish waits). */
export function launchGradBuckets(buckets: GradBuckets): void {
  buckets.launch(groupOf("all_reduce"));
}

/** Frees the group and the store; initProcessGroup may be called again. */
export function destroyProcessGroup(): void {
  const w = world;
  if (w === null) {
    throw new TorchError("destroy_process_group", "no process group to destroy (not initialized)");
  }
  world = null;
  w.group.dispose();
  w.store.dispose();
}
