// Host-to-device transfer, over native/transfer.cpp: what a prefetcher needs
// to move gathered batches to a CUDA device ahead of use. Pinned host buffers
// (pinMemory, isPinned), a gather into an existing buffer (indexSelectOut), an
// asynchronous copy (copyNonBlocking), CUDA events (CudaEvent) and a copy
// stream that joins no other stream (withCopyStream). A build without CUDA has
// them all; the CUDA ones refuse with one line saying the build is CPU-only.
//
// A prefetch of the batch after next, overlapping the step in between:
//
//   indexSelectOut(data, 0, rows, pinned[k]);              // host gather
//   withCopyStream(device, () => {
//     free[k].wait();                                      // the step done with gpu[k]
//     copyNonBlocking(gpu[k], pinned[k]);
//     ready[k].record();
//   });
//   ...
//   ready[k].wait();                                       // on the main stream, then use gpu[k]
//   ... step ...; free[k].record();
//   ready[k].synchronize() before pinned[k] is written again.
import { lib } from "./library.ts";
import * as A from "./args.ts";
import { check, OUT, OUT_I32, outHandle } from "./call.ts";
import { type Device, deviceCode, deviceName } from "./device.ts";
import { TorchError } from "./error.ts";
import { handleOf, type Tensor, wrap } from "./tensor.ts";

/**
 * `t` (a dense CPU tensor) copied into pinned (page-locked) host memory, from
 * which copies to a CUDA device run asynchronously (copyNonBlocking); `t`'s
 * data itself when it is already pinned. A new Tensor under the usual rules.
 * Needs a CUDA build of libtorch and a visible device: elsewhere a TorchError of
 * one line ("pinned memory needs a CUDA build of libtorch (this one is
 * CPU-only)", or "... needs a CUDA device, and none is visible").
 */
export function pinMemory(t: Tensor): Tensor {
  A.tensor("pinMemory(t)", "t", t);
  return wrap("tt_pin_memory", lib.tt_pin_memory(handleOf(t), OUT));
}

/** Whether `t` is in pinned host memory (always false without CUDA). */
export function isPinned(t: Tensor): boolean {
  A.tensor("isPinned(t)", "t", t);
  check("tt_is_pinned", lib.tt_is_pinned(handleOf(t), OUT_I32));
  return OUT_I32[0] === 1;
}

const SIG_GATHER = "indexSelectOut(src, dim, index, out)";

/**
 * `src.indexSelect(dim, index)` written into `out`, which must already have
 * the gather's shape (src's with dim's size the index's length) and src's
 * dtype: it is never resized, so a reused pinned buffer stays pinned. Works on
 * the CPU and on CUDA (src, index and out on one device).
 */
export function indexSelectOut(src: Tensor, dim: number, index: Tensor, out: Tensor): void {
  A.tensor(SIG_GATHER, "src", src);
  A.int(SIG_GATHER, "dim", dim);
  A.tensor(SIG_GATHER, "index", index);
  A.tensor(SIG_GATHER, "out", out);
  if (index.dtype !== "int64" && index.dtype !== "int32") {
    throw A.typeError(SIG_GATHER, "index", "an int64 or int32 tensor", index);
  }
  if (out.dtype !== src.dtype) {
    throw A.typeError(SIG_GATHER, "out", `a ${src.dtype} tensor (src's dtype)`, out);
  }
  check(
    "tt_index_select_out",
    lib.tt_index_select_out(handleOf(src), dim, handleOf(index), handleOf(out)),
  );
}

/**
 * `dst.copy_(src, non_blocking=True)`: between pinned host memory and a CUDA
 * device the copy is queued on the current stream and the call returns at
 * once. Until it is done (a CudaEvent recorded after it says when) `src` must
 * not be rewritten, and `dst` read only on the stream that made the copy or
 * after waiting for the event. Between other memory it is an ordinary copy.
 */
export function copyNonBlocking(dst: Tensor, src: Tensor): void {
  A.tensor("copyNonBlocking(dst, src)", "dst", dst);
  A.tensor("copyNonBlocking(dst, src)", "src", src);
  check("tt_copy_non_blocking", lib.tt_copy_non_blocking(handleOf(dst), handleOf(src)));
}

function cudaDevice(sig: string, device: unknown): number {
  A.device(sig, "device", device);
  const code = deviceCode(device as string);
  if (code < 0) throw A.typeError(sig, "device", `"cuda" or "cuda:N"`, device);
  return code;
}

// Frees events nobody disposed; they are few, so no counter.
const registry = new FinalizationRegistry<Deno.PointerObject>((h) => {
  lib.tt_cuda_event_free(h);
});

/**
 * torch.cuda.Event on a CUDA device: record() marks the work queued so far on
 * the device's current stream, wait() makes the current stream wait for it
 * (no host wait), synchronize() makes the host wait, query() says whether it
 * is done. An event never recorded is done (wait and synchronize return at
 * once). Freed by dispose() / `using`, or by the GC as a safety net. In a
 * build without CUDA, or with no device, the constructor throws a TorchError
 * of one line.
 */
export class CudaEvent implements Disposable {
  #handle: Deno.PointerObject | null;
  readonly device: Device;

  constructor(device: Device | string = "cuda") {
    const code = cudaDevice("CudaEvent(device)", device);
    check("tt_cuda_event_new", lib.tt_cuda_event_new(code, OUT));
    this.#handle = outHandle();
    this.device = deviceName(code);
    registry.register(this, this.#handle, this);
  }

  #native(op: string): Deno.PointerObject {
    if (this.#handle === null) {
      throw new TorchError(op, "this CUDA event was disposed and cannot be used");
    }
    return this.#handle;
  }

  /** Records the event on the current stream of its device. */
  record(): void {
    check("tt_cuda_event_record", lib.tt_cuda_event_record(this.#native("tt_cuda_event_record")));
  }

  /** The current stream of the event's device waits for the recorded work (the host does not). */
  wait(): void {
    check("tt_cuda_event_wait", lib.tt_cuda_event_wait(this.#native("tt_cuda_event_wait")));
  }

  /** The host waits until the recorded work is done. */
  synchronize(): void {
    check(
      "tt_cuda_event_synchronize",
      lib.tt_cuda_event_synchronize(this.#native("tt_cuda_event_synchronize")),
    );
  }

  /** Whether the recorded work is done (true for an event never recorded). */
  query(): boolean {
    check(
      "tt_cuda_event_query",
      lib.tt_cuda_event_query(this.#native("tt_cuda_event_query"), OUT_I32),
    );
    return OUT_I32[0] === 1;
  }

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  dispose(): void {
    const h = this.#handle;
    if (h === null) return;
    this.#handle = null;
    registry.unregister(this);
    lib.tt_cuda_event_free(h);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Runs `fn` with the device's copy stream current (one stream per device, kept
 * for the process), then makes the previous stream current again. Unlike
 * withSideStream it joins no stream at either end: the copy stream neither
 * waits for the work queued before nor makes the main stream wait for its own,
 * so a copy queued in it overlaps the main stream's kernels. Order the two
 * with CudaEvents (the module's header shows the prefetch recipe). Tensors
 * made inside belong to the copy stream: read them on another stream only
 * after waiting for an event recorded after them.
 */
export function withCopyStream<T>(device: Device | string, fn: () => T): T {
  const sig = "withCopyStream(device, fn)";
  const code = cudaDevice(sig, device);
  A.func(sig, "fn", fn);
  check("tt_cuda_copy_stream_begin", lib.tt_cuda_copy_stream_begin(code));
  let out: T;
  try {
    out = fn();
    if (out instanceof Promise) throw new TypeError(`${sig}: fn must be synchronous`);
  } catch (e) {
    // fn's error is the one to report; the stream is restored all the same.
    lib.tt_cuda_copy_stream_end(code);
    throw e;
  }
  check("tt_cuda_copy_stream_end", lib.tt_cuda_copy_stream_end(code));
  return out;
}
