// DistributedDataParallel over the default process group: the model starts
// equal on every rank (parameters, buffers and any other state, broadcast from
// rank 0), and the gradients, which live in persistent flat buckets (PyTorch's
// gradient_as_bucket_view), are averaged with one all-reduce per bucket,
// launched by backward itself as each bucket's gradients are made (the
// Reducer's overlap) and waited for in syncGradients(). libtorch's C++ DDP
// (the Reducer) cannot be reached from Debian's headers and is not supported
// upstream, so this is the Python DDP's contract, written over the collectives
// and autograd's gradient-accumulator hooks.
import { TorchError } from "../../ffi/error.ts";
import { cat, tensor } from "../../ffi/creation.ts";
import { DEFAULT_BUCKET_BYTES, GradBuckets } from "../../ffi/distributed.ts";
import { DTYPE_BYTES } from "../../ffi/dtype.ts";
import { noGrad } from "../../ffi/runtime.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import {
  allGather,
  allReduce,
  armGradBuckets,
  broadcast,
  getBackend,
  getRank,
  getWorldSize,
  launchGradBuckets,
} from "./group.ts";

/**
 * What DistributedDataParallel replicates: any nn.Module, or a BYOL model (its
 * online parameters; its online buffers and its EMA target as buffers).
 */
export interface Replicable {
  /** The trained tensors, whose gradients are averaged, in the same order on every rank. */
  namedParameters(): [string, Tensor][];
  /** The other state that must start equal on every rank (BatchNorm buffers, an EMA target). */
  namedBuffers(): [string, Tensor][];
}

export interface DDPOptions {
  /** Gradient bucket size, as DDP's bucket_cap_mb (the first bucket is at most 1 MB). Default 25 MB. */
  bucketBytes?: number;
  /**
   * Launch each bucket's all-reduce from backward, as soon as its gradients
   * are made (PyTorch DDP's overlap). Default true; false: every bucket is
   * launched by syncGradients(), after backward.
   */
  overlapBackward?: boolean;
}

/**
 * torch.nn.parallel.DistributedDataParallel, without wrapping the forward.
 * Construction (every rank, collectively) checks that the ranks hold the same
 * parameter and buffer shapes and broadcasts rank 0's values of both into
 * every rank's tensors, in place (optimizers and BYOL's EMA lists built over
 * them stay valid). After each backward, `syncGradients()` replaces every
 * gradient by its average over the ranks: the all-reduces start during
 * backward, and syncGradients() waits for them. Run the forward and backward on the
 * module itself; gradients accumulated over several backward passes go through
 * `noSync()` for all but the last, as in PyTorch; with nn.SyncBatchNorm the BatchNorm buffers stay equal on
 * every rank by themselves, otherwise `syncBuffers()` copies rank 0's (PyTorch
 * DDP's broadcast_buffers, which it does before every forward).
 */
export class DistributedDataParallel<M extends Replicable> {
  readonly module: M;
  readonly rank: number;
  readonly worldSize: number;
  readonly bucketBytes: number;
  readonly #params: [string, Tensor][];
  readonly #buffers: [string, Tensor][];
  readonly #missingFlag: Tensor;
  readonly #device: string;
  /** The gradients' buckets (world > 1). */
  readonly #buckets: GradBuckets | null;
  #launchedInBackward = 0;
  #syncOff = 0;

  constructor(module: M, opts: DDPOptions = {}) {
    this.rank = getRank(); // throws, with PyTorch's message, without a group
    this.worldSize = getWorldSize();
    this.module = module;
    this.bucketBytes = opts.bucketBytes ?? DEFAULT_BUCKET_BYTES;
    if (!(Number.isInteger(this.bucketBytes) && this.bucketBytes >= 1)) {
      throw new RangeError(
        `DistributedDataParallel: bucketBytes must be a positive integer, got ${opts.bucketBytes}`,
      );
    }
    this.#params = module.namedParameters();
    this.#buffers = module.namedBuffers();
    // DDP's own small collectives run where the group's collectives do: on
    // the CPU for Gloo, on the parameters' GPU for NCCL.
    this.#device = getBackend() === "nccl" ? (this.#params[0]?.[1].device ?? "cuda") : "cpu";
    this.#missingFlag = this.#onDevice(tensor(new BigInt64Array(1))).keep();
    this.#verifyShapes();
    this.#broadcastFromRank0([...this.#params, ...this.#buffers]);
    this.#buckets = this.worldSize > 1
      ? new GradBuckets(this.#params.map(([, p]) => p), this.bucketBytes)
      : null;
    if (this.#buckets !== null && (opts.overlapBackward ?? true)) {
      try {
        armGradBuckets(this.#buckets);
      } catch (e) {
        this.dispose();
        throw e;
      }
    }
  }

  /** How many buckets the last backward launched itself (the rest waited for syncGradients()). */
  get bucketsLaunchedInBackward(): number {
    return this.#launchedInBackward;
  }

  /**
   * torch's DDP.no_sync(): runs `fn` (forward and backward passes) without
   * launching any all-reduce; the gradients accumulate on this rank, and the
   * next backward outside it, followed by syncGradients(), averages the sum.
   */
  noSync<T>(fn: () => T): T {
    if (this.#syncOff++ === 0) this.#buckets?.setHooks(false);
    try {
      return fn();
    } finally {
      if (--this.#syncOff === 0) this.#buckets?.setHooks(true);
    }
  }

  /**
   * Averages every parameter's gradient over the ranks, in place: each
   * gradient is (made) a view of a persistent flat bucket (`bucketBytes`, the
   * parameters in reverse), and each bucket is all-reduced once: launched by
   * backward as soon as its gradients were made, or here, and waited for here.
   * A gradient that zeroGrad() dropped is copied into its bucket once; with
   * `zeroGrad({ setToNone: false })` backward accumulates into the buckets and
   * nothing is copied. Every parameter must have a gradient on every rank, as
   * PyTorch DDP requires without find_unused_parameters: if one has none on
   * any rank, every rank throws the same TorchError (after one small
   * all-reduce that tells them), naming this rank's missing parameters; so
   * does a second backward without noSync(). Returns the number of buckets
   * (0 in a world of one, where nothing moves).
   */
  syncGradients(): number {
    if (this.#syncOff > 0) {
      throw new TorchError(
        "DistributedDataParallel.syncGradients",
        "called inside noSync(): call it after the backward that follows noSync()",
      );
    }
    if (this.#buckets === null) {
      const missing = this.#params.flatMap(([, p], i) => {
        const g = p.grad;
        g?.dispose();
        return g === null ? [i] : [];
      });
      if (missing.length > 0) this.#throwMissing(missing);
      return 0;
    }
    const buckets = this.#buckets;
    const missing = buckets.bind();
    // Every rank issues every bucket, then the flag that tells them whether
    // any rank lacks a gradient, so the collectives pair up in the same order
    // on every rank even when one fails, and all fail together.
    try {
      launchGradBuckets(buckets);
      this.#missingFlag.fill_(missing.length);
      allReduce(this.#missingFlag, { op: "max" });
    } catch (e) {
      try {
        buckets.finish({ average: false }); // nothing may stay in flight
      } catch { /* the first failure is e */ }
      throw e;
    }
    try {
      this.#launchedInBackward = buckets.finish({ average: true });
    } catch (e) {
      // The shim knows parameters by index; the user by name.
      const m = e instanceof TorchError && /parameter (\d+)'s gradient/.exec(e.message);
      if (!m) throw e;
      throw new TorchError(
        "DistributedDataParallel.syncGradients",
        e.message.replace(/^grad_buckets_finish: /, "")
          .replace(m[0], `parameter ${this.#params[Number(m[1])][0]}'s gradient`),
        { cause: e },
      );
    }
    if (this.#missingFlag.item() > 0) this.#throwMissing(missing);
    return buckets.count;
  }

  #throwMissing(missing: number[]): never {
    const names = missing.map((i) => this.#params[i][0]);
    const here = missing.length === 0
      ? "none on this rank, so another rank"
      : `${missing.length} on this rank: ${names.slice(0, 5).join(", ")}${
        missing.length > 5 ? ", ..." : ""
      }`;
    throw new TorchError(
      "DistributedDataParallel.syncGradients",
      `parameters without a gradient after backward (${here}; rank ${this.rank} of ` +
        `${this.worldSize}). Every parameter must take part in the loss on every rank: ` +
        "leave unused parameters out of the module, or set their gradient to zeros",
    );
  }

  /** A CPU-made tensor on the device of DDP's collectives (the CPU one freed). */
  #onDevice(t: Tensor): Tensor {
    if (this.#device === "cpu") return t;
    try {
      return t.to({ device: this.#device });
    } finally {
      t.dispose();
    }
  }

  /** Copies rank 0's buffers into every rank's (collective). */
  syncBuffers(): void {
    this.#broadcastFromRank0(this.#buffers);
  }

  /** The parameters and buffers must have the same names count, shapes and dtypes everywhere. */
  #verifyShapes(): void {
    const describe = (list: [string, Tensor][]) =>
      list.map(([n, t]) => `${n}:${t.dtype}[${t.shape.join(",")}]`).join(";");
    const sig = `${describe(this.#params)}|${describe(this.#buffers)}`;
    // FNV-1a over the signature, with the counts, gathered from every rank.
    let h = 0x811c9dc5;
    for (let i = 0; i < sig.length; i++) h = Math.imul(h ^ sig.charCodeAt(i), 0x01000193) >>> 0;
    using mine = this.#onDevice(tensor(
      BigInt64Array.from([this.#params.length, this.#buffers.length, h].map(BigInt)),
    ));
    const all = allGather(mine);
    try {
      const rows = all.map((t) => {
        using host = t.cpu();
        return Array.from(host.toTypedArray() as BigInt64Array, Number);
      });
      const bad = rows.findIndex((r) => r.some((v, i) => v !== rows[this.rank][i]));
      if (bad >= 0) {
        const [p, b] = rows[bad];
        throw new TorchError(
          "DistributedDataParallel",
          `rank ${bad} holds a different model: ${p} parameters and ${b} buffers there, ` +
            `${this.#params.length} and ${this.#buffers.length} here (rank ${this.rank}), or ` +
            "different names, shapes or dtypes. Build the same model on every rank",
        );
      }
    } finally {
      for (const t of all) t.dispose();
    }
  }

  /** Broadcasts the tensors' values from rank 0 in flat chunks of at most bucketBytes per dtype. */
  #broadcastFromRank0(list: [string, Tensor][]): void {
    if (this.worldSize === 1) return;
    const chunks: Tensor[][] = [];
    let bytes = 0;
    for (const [, t] of list) {
      const b = t.numel * DTYPE_BYTES[t.dtype];
      const last = chunks[chunks.length - 1];
      if (last === undefined || last[0].dtype !== t.dtype || bytes + b > this.bucketBytes) {
        chunks.push([t]);
        bytes = b;
      } else {
        last.push(t);
        bytes += b;
      }
    }
    noGrad(() => {
      for (const chunk of chunks) {
        const flats = chunk.map((t) => t.reshape(-1));
        using flat = cat(flats);
        for (const f of flats) f.dispose();
        broadcast(flat, { src: 0 });
        if (this.rank === 0) continue;
        let offset = 0;
        for (const t of chunk) {
          using part = flat.narrow(0, offset, t.numel);
          using shaped = part.view(t.shape);
          t.copy_(shaped);
          offset += t.numel;
        }
      }
    });
  }

  /** Frees what DDP keeps (the buckets: bound gradients keep their storage); the module is the caller's. */
  dispose(): void {
    if (!this.#missingFlag.isDisposed) this.#missingFlag.dispose();
    this.#buckets?.dispose();
  }
}
