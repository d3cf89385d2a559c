// c10d stores and process groups (native/distributed.cpp): the handles and the
// collectives, one synchronous shim call each. Collectives block the calling
// thread until every rank took part, a peer failed or the group's timeout
// passed. src/distributed/ holds the PyTorch-named API over these.
import { lib } from "./library.ts";
import { check, OUT, OUT_I64, outHandle } from "./call.ts";
import { TorchError } from "./error.ts";
import { TensorList } from "./lists.ts";
import { ReduceKind } from "./ops.ts";
import { handleOf, Tensor, wrap } from "./tensor.ts";

export type ReduceOpName = keyof typeof ReduceKind;

const enc = new TextEncoder();
function cstr(s: string): Uint8Array {
  return enc.encode(s + "\0");
}

/** True when the shim was built with Gloo (scripts/build_native.ts found its headers). */
export function hasGloo(): boolean {
  return lib.tt_dist_has_gloo() === 1;
}

/** True when the shim was built with NCCL (a CUDA libtorch 2.x with c10d's NCCL headers). */
export function hasNccl(): boolean {
  return lib.tt_dist_has_nccl() === 1;
}

const bucketsRegistry = new FinalizationRegistry<Deno.PointerObject>((h) => {
  lib.tt_grad_buckets_free(h);
});
const storeRegistry = new FinalizationRegistry<Deno.PointerObject>((h) => {
  lib.tt_store_free(h);
});
const pgRegistry = new FinalizationRegistry<Deno.PointerObject>((h) => {
  lib.tt_pg_free(h);
});

export interface StoreOptions {
  host: string;
  port: number;
  /** Host the TCPStore server (multi-tenant) in this process. */
  isServer: boolean;
  worldSize: number;
  timeoutMs: number;
  /** A PrefixStore over the TCPStore (torchrun's agent store: "/worker/attempt_N"). */
  prefix?: string;
}

/** A c10d TCPStore (optionally under a PrefixStore). The server side blocks until every worker joined. */
export class Store implements Disposable {
  #handle: Deno.PointerObject | null;

  constructor(o: StoreOptions) {
    check(
      "tt_store_new",
      lib.tt_store_new(
        cstr(o.host),
        o.port,
        o.isServer ? 1 : 0,
        o.worldSize,
        o.timeoutMs,
        cstr(o.prefix ?? ""),
        OUT,
      ),
    );
    this.#handle = outHandle();
    storeRegistry.register(this, this.#handle, this);
  }

  get handle(): Deno.PointerObject {
    if (this.#handle === null) throw new TorchError("store", "this store was freed");
    return this.#handle;
  }

  dispose(): void {
    const h = this.#handle;
    if (h === null) return;
    this.#handle = null;
    storeRegistry.unregister(this);
    lib.tt_store_free(h);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Default ~25 MB buckets of allReduceBuckets, as DDP's bucket_cap_mb. */
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

/**
 * A Gloo process group over `store`, built as PyTorch's init_process_group
 * builds its default group, so PyTorch ranks can be members.
 */
export class ProcessGroup implements Disposable {
  #handle: Deno.PointerObject | null;
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: string;
  readonly timeoutMs: number;

  constructor(store: Store, rank: number, worldSize: number, backend: string, timeoutMs: number) {
    check(
      "tt_pg_new",
      lib.tt_pg_new(store.handle, rank, worldSize, cstr(backend), timeoutMs, OUT),
    );
    this.#handle = outHandle();
    this.rank = rank;
    this.worldSize = worldSize;
    this.backend = backend;
    this.timeoutMs = timeoutMs;
    pgRegistry.register(this, this.#handle, this);
  }

  get handle(): Deno.PointerObject {
    if (this.#handle === null) {
      throw new TorchError("process_group", "this process group was destroyed");
    }
    return this.#handle;
  }

  /** In place on `t`. */
  allReduce(t: Tensor, op: ReduceOpName = "sum"): void {
    const code = ReduceKind[op];
    if (code === undefined) {
      throw new TypeError(
        `allReduce: unknown op "${op}" (one of ${Object.keys(ReduceKind).join(", ")})`,
      );
    }
    check("tt_pg_all_reduce", lib.tt_pg_all_reduce(this.handle, handleOf(t), code));
  }

  /** In place on `t`: every rank ends with rank `src`'s values. */
  broadcast(t: Tensor, src: number): void {
    check("tt_pg_broadcast", lib.tt_pg_broadcast(this.handle, handleOf(t), src));
  }

  /** One new tensor per rank, in rank order. */
  allGather(t: Tensor): Tensor[] {
    const n = this.worldSize;
    const outs = n <= OUT.length ? OUT : new BigUint64Array(n);
    check("tt_pg_all_gather", lib.tt_pg_all_gather(this.handle, handleOf(t), outs, n));
    const view = new Deno.UnsafePointerView(Deno.UnsafePointer.of(outs)!);
    const result: Tensor[] = [];
    for (let i = 0; i < n; i++) {
      const p = outs === OUT ? outHandle(i) : view.getPointer(i * 8);
      if (p === null) throw new TorchError("tt_pg_all_gather", "returned a null handle");
      result.push(new Tensor(p));
    }
    return result;
  }

  barrier(): void {
    check("tt_pg_barrier", lib.tt_pg_barrier(this.handle));
  }

  /**
   * A new tensor: the sum of `t` over the ranks, differentiable (its backward
   * sums the incoming gradient over the ranks, as torch.distributed.nn's
   * all_reduce). Every rank must call it, and later run the backward, in the same order.
   */
  allReduceWithGrad(t: Tensor): Tensor {
    return wrap(
      "tt_pg_all_reduce_autograd",
      lib.tt_pg_all_reduce_autograd(this.handle, handleOf(t), OUT),
    );
  }

  /**
   * Sums every tensor of `list` over the ranks, in place, in one call: the
   * tensors are flattened in list order into buckets of at most `bucketBytes`
   * (a new bucket also where the dtype changes), the buckets all-reduced
   * concurrently, then (average) divided by the world size and copied back.
   * Every rank must pass lists of the same shapes and dtypes. Returns the number of buckets.
   */
  allReduceBuckets(
    list: TensorList,
    opts: { bucketBytes?: number; average?: boolean } = {},
  ): number {
    const handles = TensorList.handles(list, "allReduceBuckets");
    check(
      "tt_pg_all_reduce_buckets",
      lib.tt_pg_all_reduce_buckets(
        this.handle,
        handles,
        list.length,
        opts.bucketBytes ?? DEFAULT_BUCKET_BYTES,
        opts.average ?? true ? 1 : 0,
        OUT_I64,
      ),
    );
    return Number(OUT_I64[0]);
  }

  dispose(): void {
    const h = this.#handle;
    if (h === null) return;
    this.#handle = null;
    pgRegistry.unregister(this);
    lib.tt_pg_free(h);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * DistributedDataParallel's gradient buckets (PyTorch DDP's
 * gradient_as_bucket_view): flat storage per bucket (the parameters in
 * reverse, as backward makes their gradients; the first bucket at most 1 MB,
 * the others `bucketBytes`; one dtype each) and a slot per parameter with its
 * shape and strides. `bind()` makes every gradient its slot, so backward
 * accumulates into the buckets and the all-reduce copies nothing in or out; a
 * gradient that zeroGrad() dropped and backward made anew is copied into its
 * slot once. `arm(group)` makes backward itself launch each bucket's
 * all-reduce as soon as its gradients are made; `launch(group)` launches the
 * rest and `finish()` waits. The buckets follow the parameters through
 * Module.to() and channelsLast() (rebuilt, and re-armed, when a parameter's
 * tensor was swapped).
 */
export class GradBuckets implements Disposable {
  readonly #list: TensorList;
  readonly #bucketBytes: number;
  #handle: Deno.PointerObject | null = null;
  #count = 0;
  #missing: BigInt64Array;
  /** The group the hooks launch on, once armed. */
  #armedOn: ProcessGroup | null = null;

  constructor(params: readonly Tensor[], bucketBytes: number = DEFAULT_BUCKET_BYTES) {
    this.#list = new TensorList(params, {
      label: "DistributedDataParallel's parameter list",
      item: "parameter",
    });
    this.#bucketBytes = bucketBytes;
    this.#missing = new BigInt64Array(Math.max(params.length, 1));
    this.#build();
  }

  #build(): void {
    this.#free();
    const handles = TensorList.handles(this.#list, "GradBuckets");
    check(
      "tt_grad_buckets_new",
      lib.tt_grad_buckets_new(handles, this.#list.length, this.#bucketBytes, OUT, OUT_I64),
    );
    this.#handle = outHandle();
    this.#count = Number(OUT_I64[0]);
    bucketsRegistry.register(this, this.#handle, this);
    if (this.#armedOn !== null) {
      check("tt_grad_buckets_arm", lib.tt_grad_buckets_arm(this.#armedOn.handle, this.#handle));
    }
  }

  /**
   * Hooks every parameter's gradient accumulator: during backward, each
   * bucket whose gradients are all made is launched (a sum over `group`),
   * in bucket order, while backward goes on. Collective only in effect: every
   * rank must arm the same buckets.
   */
  arm(group: ProcessGroup): void {
    check("tt_grad_buckets_arm", lib.tt_grad_buckets_arm(group.handle, this.handle));
    this.#armedOn = group;
  }

  /** Whether the hooks launch anything (off inside DDP's noSync()). */
  setHooks(on: boolean): void {
    check("tt_grad_buckets_set_hooks", lib.tt_grad_buckets_set_hooks(this.handle, on ? 1 : 0));
  }

  /** Launches every bucket backward did not launch, in bucket order (asynchronously). */
  launch(group: ProcessGroup): void {
    check("tt_grad_buckets_launch", lib.tt_grad_buckets_launch(group.handle, this.handle));
  }

  /**
   * Waits for every launched bucket, divides each by the world size when
   * `average` (default) and starts the next iteration. Returns how many
   * buckets backward launched; throws the first failure (a collective's, or a
   * hook's: a second backward before this) once nothing is in flight.
   */
  finish(opts: { average?: boolean } = {}): number {
    check(
      "tt_grad_buckets_finish",
      lib.tt_grad_buckets_finish(this.handle, opts.average ?? true ? 1 : 0, OUT_I64),
    );
    return Number(OUT_I64[0]);
  }

  /** The number of buckets. */
  get count(): number {
    return this.#count;
  }

  get handle(): Deno.PointerObject {
    if (this.#handle === null) throw new TorchError("GradBuckets", "these buckets were freed");
    return this.#handle;
  }

  /**
   * Makes every parameter's gradient its slot; returns the indices (in the
   * parameter order) of the parameters without a gradient, which stay unbound.
   */
  bind(): number[] {
    if (this.#handle === null) throw new TorchError("GradBuckets", "these buckets were freed");
    if (this.#list.sync("GradBuckets.bind") > 0) this.#build();
    check(
      "tt_grad_buckets_bind",
      lib.tt_grad_buckets_bind(this.handle, this.#missing, this.#missing.length, OUT_I64),
    );
    const n = Number(OUT_I64[0]);
    return Array.from(this.#missing.subarray(0, n), Number);
  }

  #free(): void {
    const h = this.#handle;
    if (h === null) return;
    this.#handle = null;
    bucketsRegistry.unregister(this);
    lib.tt_grad_buckets_free(h);
  }

  /** Frees the buckets; gradients bound to them keep their storage alive. */
  dispose(): void {
    this.#free();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
