// The processes of a training run (docs/DISTRIBUTED.md): which rank this
// process is, and every collective the trainer makes, in one place. A run of
// one process has `SOLO` and no collectives at all. When WORLD_SIZE is set
// (torchrun, or our launcher: launch.ts) the process is a rank and
// `joinWorld` builds the group from torchrun's environment: Gloo on CPUs,
// NCCL on GPUs (one per process, the GPU of its LOCAL_RANK).
//
// Gradients are averaged by the run's DistributedDataParallel (run.ts), called
// through `syncGradients` so a lost rank gives the same one line.
import { cat, tensor, zeros } from "../../ffi/creation.ts";
import { cuda } from "../../ffi/runtime.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import {
  allGather,
  allReduce,
  broadcast,
  destroyProcessGroup,
  initProcessGroup,
  isInitialized,
  isNcclAvailable,
} from "./group.ts";
import { ConfigError, type TrainConfig } from "../train/settings.ts";

export interface World {
  rank: number;
  worldSize: number;
  /** This process's index among the ones on its machine (LOCAL_RANK). */
  localRank: number;
  localWorldSize: number;
  /**
   * A rank's device, where its collectives run: "cpu" (a Gloo group) or
   * "cuda:<LOCAL_RANK>" (an NCCL group). "cpu" alone, where the trainer
   * resolves --device itself.
   */
  device: string;
}

export const SOLO: World = Object.freeze({
  rank: 0,
  worldSize: 1,
  localRank: 0,
  localWorldSize: 1,
  device: "cpu",
});

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** True when this process was started as one rank of several (WORLD_SIZE set). */
export function startedAsRank(): boolean {
  return (env("WORLD_SIZE") ?? "") !== "";
}

function envInt(name: string, fallback: number): number {
  const v = env(name);
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new ConfigError(`environment variable ${name} must be an integer >= 0, got "${v}"`);
  }
  return n;
}

/**
 * The launch settings a process records (config.json): a rank takes them from
 * its environment, as torchrun describes the launch, and `--threads 0` becomes
 * its share of the cores (OMP_NUM_THREADS, which torchrun and our launcher
 * set, else the cores over the local processes). One process alone records
 * the defaults: on --resume the launch is whatever the command line says.
 */
export function rankSettings(cfg: TrainConfig): TrainConfig {
  if (!startedAsRank()) {
    return { ...cfg, nprocPerNode: 1, nnodes: 1, nodeRank: 0, masterPort: 0 };
  }
  const worldSize = envInt("WORLD_SIZE", 1);
  const local = Math.max(1, envInt("LOCAL_WORLD_SIZE", worldSize));
  const omp = envInt("OMP_NUM_THREADS", 0);
  const cores = navigator.hardwareConcurrency || 1;
  return {
    ...cfg,
    threads: cfg.threads > 0 ? cfg.threads : omp > 0 ? omp : Math.max(1, Math.floor(cores / local)),
    nprocPerNode: local,
    nnodes: Math.max(1, Math.round(worldSize / local)),
    nodeRank: envInt("GROUP_RANK", 0),
    masterAddr: env("MASTER_ADDR") ?? cfg.masterAddr,
    masterPort: envInt("MASTER_PORT", cfg.masterPort),
  };
}

/** Joins the other ranks (torchrun's environment) when WORLD_SIZE is set; else `SOLO`. */
export function joinWorld(cfg: TrainConfig): World {
  if (!startedAsRank()) return SOLO;
  const worldSize = envInt("WORLD_SIZE", 1);
  const rank = envInt("RANK", 0);
  const localRank = envInt("LOCAL_RANK", rank);
  const w: World = {
    rank,
    worldSize,
    localRank,
    localWorldSize: envInt("LOCAL_WORLD_SIZE", worldSize),
    device: worldSize > 1 ? rankDevice(cfg.device, localRank, cfg.backend) : "cpu",
  };
  const backend = worldSize > 1 ? rankBackend(cfg.backend, w.device) : "gloo";
  if (cfg.batchSize % worldSize !== 0) {
    const down = Math.max(worldSize, cfg.batchSize - (cfg.batchSize % worldSize));
    throw new ConfigError(
      `--batch-size ${cfg.batchSize} (the global batch) does not split over ${worldSize} ` +
        `processes; give a multiple of ${worldSize}, e.g. --batch-size ${down}`,
    );
  }
  if (worldSize === 1) return w;
  try {
    initProcessGroup({
      backend,
      timeoutMs: cfg.distTimeout * 1000,
    });
  } catch (e) {
    throw new Error(
      `rank ${rank} of ${worldSize} could not join the others within --dist-timeout ` +
        `${cfg.distTimeout} s: ${firstLine((e as Error).message)}`,
      { cause: e },
    );
  }
  return w;
}

/** Leaves the group (after the last collective). */
export function leaveWorld(w: World): void {
  if (w.worldSize > 1 && isInitialized()) destroyProcessGroup();
}

function firstLine(s: string): string {
  return s.split("\n")[0];
}

/** A rank that died or hung makes the next collective fail: one line that names it. */
export class LostRankError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LostRankError";
  }
}

const LOST = /closed|reset|broken pipe|refused|timed? ?out|timeout|peer|EOF|connect/i;

/**
 * Runs collective `what`. A failure that says a peer went away (closed or
 * reset connection, timeout) becomes a LostRankError naming the lost rank;
 * any other is re-thrown with this rank and `what` in front.
 */
export function collective<T>(w: World, what: string, fn: () => T): T {
  if (w.worldSize === 1) return fn();
  try {
    return fn();
  } catch (e) {
    if (e instanceof LostRankError) throw e;
    const why = firstLine((e as Error).message);
    if (!LOST.test(why)) {
      throw new Error(`rank ${w.rank} of ${w.worldSize}: ${what} failed: ${why}`, { cause: e });
    }
    const others = w.worldSize === 2 ? `rank ${1 - w.rank}` : "another rank";
    throw new LostRankError(
      `rank ${w.rank} of ${w.worldSize}: lost ${others} during ${what} (it exited, was ` +
        "killed or stopped responding within --dist-timeout); the run's last checkpoint is " +
        `intact, resume from it with --resume. Cause: ${why}`,
      { cause: e },
    );
  }
}

/**
 * Averages the gradients over the ranks (between backward and the optimizer
 * step) with the run's DistributedDataParallel: every rank's loss is the mean
 * over its slice of the global batch, so the average of the ranks' gradients
 * is the global batch's gradient.
 */
export function syncGradients(
  run: { world: World; ddp: { syncGradients(): number } | null },
): void {
  if (run.ddp === null) return;
  collective(run.world, "the gradient all-reduce", () => run.ddp!.syncGradients());
}

/** The mean of a number over the ranks (the logged loss). */
export function meanOverRanks(w: World, x: number, what = "the loss all-reduce"): number {
  if (w.worldSize === 1) return x;
  using t = onDevice(w, tensor([x], { dtype: "float64" }));
  collective(w, what, () => allReduce(t, { op: "sum" }));
  return t.item() / w.worldSize;
}

/** True on every rank when any rank asks to stop (one 1-element all-reduce, max). */
export function anyRank(w: World, flag: boolean, what = "the stop agreement"): boolean {
  if (w.worldSize === 1) return flag;
  using t = onDevice(w, tensor([flag ? 1 : 0], { dtype: "float32" }));
  collective(w, what, () => allReduce(t, { op: "max" }));
  return t.item() > 0;
}

/** Rank 0's text on every rank (a run folder's name, a choice rank 0 made). */
export function broadcastText(w: World, text: string, what = "a broadcast"): string {
  if (w.worldSize === 1) return text;
  const bytes = new TextEncoder().encode(text);
  using len = onDevice(w, tensor([w.rank === 0 ? bytes.length : 0], { dtype: "int64" }));
  collective(w, what, () => broadcast(len, { src: 0 }));
  const n = Number(len.item());
  if (n === 0) return "";
  using buf = onDevice(
    w,
    w.rank === 0 ? tensor(bytes, { dtype: "uint8" }) : zeros([n], { dtype: "uint8" }),
  );
  collective(w, what, () => broadcast(buf, { src: 0 }));
  using host = buf.cpu();
  return new TextDecoder().decode(host.toTypedArray() as Uint8Array);
}

/** Rows [start, end) of `n` rows that rank `rank` of `worldSize` takes: equal shares, the last ones shorter. */
export function shardRange(n: number, rank: number, worldSize: number): [number, number] {
  const per = Math.ceil(n / worldSize);
  const start = Math.min(n, rank * per);
  return [start, Math.min(n, start + per)];
}

/**
 * Every rank's rows of a sharded (n, ...) result, concatenated in rank order:
 * each rank computed rows shardRange(n, rank, worldSize). allGather needs
 * equal sizes, so shorter shards are padded with zeros and the padding cut.
 */
export function gatherShards(w: World, local: Tensor, n: number, what: string): Tensor {
  if (w.worldSize === 1) return local.clone();
  const per = Math.ceil(n / w.worldSize);
  const rows = local.size(0);
  const rest = local.shape.slice(1);
  using padded = rows === per ? local.clone() : (() => {
    using pad = zeros([per - rows, ...rest], { dtype: local.dtype, device: local.device });
    return cat([local, pad], 0);
  })();
  const parts = collective(w, what, () => allGather(padded.contiguous()));
  try {
    const kept = parts.map((p, r) => {
      const [s, e] = shardRange(n, r, w.worldSize);
      return p.narrow(0, 0, e - s);
    });
    try {
      return cat(kept, 0);
    } finally {
      for (const k of kept) k.dispose();
    }
  } finally {
    for (const p of parts) p.dispose();
  }
}

/** A CPU-made tensor on the rank's device (moved, the CPU one freed), for its collectives. */
function onDevice(w: World, t: Tensor): Tensor {
  if (w.device === "cpu") return t;
  try {
    return t.to({ device: w.device });
  } finally {
    t.dispose();
  }
}

/**
 * The device of a rank of several, as PyTorch's DDP recipe: one GPU per
 * process, the one of its LOCAL_RANK, in an NCCL group; else the CPU in a Gloo
 * group. "auto" takes the GPU where there is one and the shim has NCCL.
 */
export function rankDevice(device: string, localRank: number, backend = "auto"): string {
  if (device === "cpu" || (device === "auto" && backend === "gloo")) return "cpu";
  const gpus = cuda.isAvailable() ? cuda.deviceCount() : 0;
  if (device === "auto" && (gpus === 0 || !isNcclAvailable())) return "cpu";
  if (device !== "auto" && device !== "cuda") {
    throw new ConfigError(
      `--device ${device}: with several processes each one takes the GPU of its LOCAL_RANK ` +
        "(cuda:0, cuda:1, ...); give --device cuda (or cpu)",
    );
  }
  if (!isNcclAvailable()) {
    throw new ConfigError(
      `--device ${device}: training on several GPUs needs an NCCL process group, and this shim ` +
        "has none (built against a CPU libtorch, or without NCCL's headers: deno task build " +
        "says which); use --device cpu (Gloo), or train on one process",
    );
  }
  if (gpus === 0) {
    throw new ConfigError(
      `--device ${device}: no CUDA device is visible here; use --device cpu (Gloo)`,
    );
  }
  if (localRank >= gpus) {
    throw new ConfigError(
      `--device ${device}: the process with LOCAL_RANK ${localRank} has no GPU of its own ` +
        `(this machine has ${gpus}): start at most ${gpus} per machine (--nproc-per-node ${gpus})`,
    );
  }
  return `cuda:${localRank}`;
}

/**
 * The process-group backend of a rank on `device` (--backend): auto is NCCL
 * for a GPU and Gloo for the CPU; a backend that cannot take the device's
 * tensors is a ConfigError with the fix.
 */
export function rankBackend(backend: string, device: string): "gloo" | "nccl" {
  const gpu = device.startsWith("cuda");
  if (backend === "auto") return gpu ? "nccl" : "gloo";
  if (backend === "gloo" && gpu) {
    throw new ConfigError(
      `--backend gloo: the ranks train on ${device}, and this toolkit's Gloo groups take CPU ` +
        "tensors; use --backend nccl (or auto) for GPUs, or --device cpu for Gloo",
    );
  }
  if (backend === "nccl" && !gpu) {
    throw new ConfigError(
      "--backend nccl runs collectives on GPUs, and the ranks train on the CPU; give " +
        "--device cuda (one GPU per process), or --backend gloo (or auto) for the CPU",
    );
  }
  if (backend !== "gloo" && backend !== "nccl") {
    throw new ConfigError(`--backend must be auto, gloo or nccl, got ${JSON.stringify(backend)}`);
  }
  return backend;
}
