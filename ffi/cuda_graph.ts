// CUDA graphs (torch.cuda.CUDAGraph, torch.cuda.graph): CUDA work captured once
// and replayed as one launch, over native/cuda_graph.cpp. A graph replays the
// kernels it captured on the memory it captured: tensors read or written inside
// the capture (its static inputs and outputs) must stay alive, and new inputs
// are copied into them (copy_) before a replay. The side stream of torch's
// warm-up recipe is `withSideStream`.
import { lib } from "./library.ts";
import * as A from "./args.ts";
import { check, OUT, OUT_I32, outHandle } from "./call.ts";
import { type Device, deviceCode } from "./device.ts";
import { TorchError } from "./error.ts";
import { Generator } from "./generator.ts";

/** What every one-line refusal here names: the trainer's switch that runs the step eagerly. */
export const CUDA_GRAPHS_OFF = "run with --cuda-graphs off";

/**
 * A CUDA graph cannot be made or a step cannot be captured: one line, naming
 * the shim function that failed (`op`, null when none did) and the switch that
 * runs the step eagerly. `cause` holds the original error.
 */
export class CUDAGraphError extends Error {
  /** The shim function that failed, e.g. "tt_item"; null when the failure was not a shim call's. */
  readonly op: string | null;
  constructor(op: string | null, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CUDAGraphError";
    this.op = op;
  }
}

/** libtorch's (or the shim's) own message of a TorchError, first line only. */
function firstLine(e: TorchError): string {
  const prefix = `${e.op.replace(/^tt_/, "")}: `;
  const raw = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  return (raw.split("\n").find((l) => l.trim() !== "") ?? raw).trim();
}

/** A refusal to make a graph or begin a capture as one line that names the switch. */
function refusal(e: TorchError): CUDAGraphError {
  const line = firstLine(e);
  return new CUDAGraphError(
    e.op,
    line.includes("--cuda-graphs off") ? line : `${line}; ${CUDA_GRAPHS_OFF}`,
    { cause: e },
  );
}

/** A failure inside a capture as the one line the trainer prints before it runs eagerly. */
function captureFailure(e: TorchError): CUDAGraphError {
  return new CUDAGraphError(
    e.op,
    `this step cannot be captured in a CUDA graph: ${e.op}: ${firstLine(e)}; ${CUDA_GRAPHS_OFF}`,
    { cause: e },
  );
}

/**
 * Whether the shim was built with CUDA graphs: a CUDA libtorch 2.x with CUDA's
 * headers found at build time (build-info's `cudaGraphs`). A capture needs a
 * CUDA device besides (`cuda.isAvailable()`).
 */
export function cudaGraphsAvailable(): boolean {
  check("tt_cuda_graphs_available", lib.tt_cuda_graphs_available(OUT_I32));
  return OUT_I32[0] === 1;
}

// Frees graphs nobody disposed; they are few, so no counter.
const registry = new FinalizationRegistry<Deno.PointerObject>((h) => {
  lib.tt_cuda_graph_free(h);
});

function cudaCode(sig: string, device: unknown): number {
  A.device(sig, "device", device);
  const code = deviceCode(device as string);
  if (code < 0) throw A.typeError(sig, "device", `"cuda" or "cuda:N"`, device);
  return code;
}

/**
 * torch.cuda.CUDAGraph: captureBegin(device) ... captureEnd() records the CUDA
 * work queued between them (not running it), replay() runs it again. The
 * native graph is made on first use, so constructing one never fails; a shim
 * or machine without CUDA graphs refuses at that first use with a
 * CUDAGraphError. Most code wants `capture()`, which ends the capture whatever
 * happens.
 */
export class CUDAGraph implements Disposable {
  #handle: Deno.PointerObject | null = null;
  #disposed = false;

  /** The native graph, made on first use; a CUDAGraphError when it cannot be. */
  #native(op: string): Deno.PointerObject {
    if (this.#disposed) {
      throw new TorchError(op, "this CUDA graph was disposed and cannot be used");
    }
    if (this.#handle === null) {
      try {
        check("tt_cuda_graph_new", lib.tt_cuda_graph_new(OUT));
      } catch (e) {
        throw e instanceof TorchError ? refusal(e) : e;
      }
      this.#handle = outHandle();
      registry.register(this, this.#handle, this);
    }
    return this.#handle;
  }

  /**
   * Makes `gen` (a CUDA Generator) draw afresh at each replay, exactly the
   * numbers it would draw eagerly: torch's register_generator_state. Call it
   * before captureBegin. (libtorch 2.14 does this itself on a generator's first
   * draw inside a capture; the default generator never needs it.)
   */
  registerGenerator(gen: Generator): void {
    if (!(gen instanceof Generator)) {
      throw A.typeError("CUDAGraph.registerGenerator(gen)", "gen", "a Generator", gen);
    }
    check(
      "tt_cuda_graph_register_generator",
      lib.tt_cuda_graph_register_generator(
        this.#native("tt_cuda_graph_register_generator"),
        gen.handle,
      ),
    );
  }

  /**
   * Begins capturing, as torch.cuda.graph's enter: synchronizes `device`,
   * empties the caching allocator's cache, makes a side stream current on the
   * device and turns autocast's cast cache off until captureEnd. Allocations
   * inside the capture come from the graph's private memory pool.
   */
  captureBegin(device: Device | string = "cuda"): void {
    const code = cudaCode("CUDAGraph.captureBegin(device)", device);
    const h = this.#native("tt_cuda_graph_capture_begin");
    check("tt_cuda_graph_capture_begin", lib.tt_cuda_graph_capture_begin(h, code));
  }

  /**
   * Ends the capture and instantiates the graph; the previous stream and
   * autocast's cache setting come back. When the capture failed (an op that
   * cannot be captured ran inside it) it throws, and the graph is left empty
   * with the stream, autocast and the allocator as they were before
   * captureBegin, so the same work can run eagerly.
   */
  captureEnd(): void {
    const h = this.#native("tt_cuda_graph_capture_end");
    check("tt_cuda_graph_capture_end", lib.tt_cuda_graph_capture_end(h));
  }

  /** Runs the captured work on the capture device's current stream. */
  replay(): void {
    const h = this.#native("tt_cuda_graph_replay");
    check("tt_cuda_graph_replay", lib.tt_cuda_graph_replay(h));
  }

  /** Drops the captured graph and its memory pool; the graph can capture again. */
  reset(): void {
    if (this.#handle === null) return;
    check("tt_cuda_graph_reset", lib.tt_cuda_graph_reset(this.#native("tt_cuda_graph_reset")));
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  /** Frees the graph and its memory pool (a graph disposed mid-capture abandons the capture). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const h = this.#handle;
    this.#handle = null;
    if (h === null) return;
    registry.unregister(this);
    lib.tt_cuda_graph_free(h);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * `with torch.cuda.graph(graph):`. Captures the CUDA work `fn` queues on
 * `device` into `graph` and returns what `fn` returns (tensors made inside live
 * in the graph's memory pool: each replay rewrites them). The capture is ended
 * whatever happens. A graph that cannot be made or begin capturing throws a
 * CUDAGraphError with the reason in one line; a TorchError inside `fn` (an op
 * that cannot be captured, such as reading a value back with item()) or from
 * ending the capture throws a CUDAGraphError of one line, "this step cannot be
 * captured in a CUDA graph: <shim function>: <libtorch's message>; run with
 * --cuda-graphs off", with the graph left empty and the device as it was, so
 * the step can run eagerly. Any other error from `fn` is rethrown as it is,
 * after the capture is ended and dropped.
 */
export function capture<T>(graph: CUDAGraph, device: Device | string, fn: () => T): T {
  const sig = "capture(graph, device, fn)";
  if (!(graph instanceof CUDAGraph)) throw A.typeError(sig, "graph", "a CUDAGraph", graph);
  cudaCode(sig, device);
  A.func(sig, "fn", fn);
  try {
    graph.captureBegin(device);
  } catch (e) {
    throw e instanceof TorchError ? refusal(e) : e;
  }
  let out: T | undefined;
  let failed = false;
  let failure: unknown;
  try {
    out = fn();
    if (out instanceof Promise) throw new TypeError(`${sig}: fn must be synchronous`);
  } catch (e) {
    failed = true;
    failure = e;
  }
  let ended = true;
  try {
    graph.captureEnd();
  } catch (e) {
    ended = false;
    if (!failed) {
      failed = true;
      failure = e;
    }
  }
  if (!failed) return out as T;
  // A capture that ended although fn failed holds part of the work: dropped.
  if (ended) {
    try {
      graph.reset();
    } catch {
      // fn's failure is the one to report
    }
  }
  throw failure instanceof TorchError ? captureFailure(failure) : failure;
}

/**
 * Runs `fn` with a side stream current on `device` (torch.cuda.stream(s) for
 * torch's warm-up recipe: warm-up iterations on a side stream, which first
 * waits for the device's current stream); after `fn` the previous stream is
 * current again and waits for the side stream. A shim or machine without CUDA
 * graphs refuses with a CUDAGraphError.
 */
export function withSideStream<T>(device: Device | string, fn: () => T): T {
  const sig = "withSideStream(device, fn)";
  const code = cudaCode(sig, device);
  A.func(sig, "fn", fn);
  try {
    check("tt_cuda_side_stream_begin", lib.tt_cuda_side_stream_begin(code));
  } catch (e) {
    throw e instanceof TorchError ? refusal(e) : e;
  }
  let out: T;
  try {
    out = fn();
    if (out instanceof Promise) throw new TypeError(`${sig}: fn must be synchronous`);
  } catch (e) {
    // fn's error is the one to report; the stream is restored all the same.
    lib.tt_cuda_side_stream_end(code);
    throw e;
  }
  check("tt_cuda_side_stream_end", lib.tt_cuda_side_stream_end(code));
  return out;
}
