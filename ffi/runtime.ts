// Seeds, threads, grad mode, autocast, CUDA queries, RNG state and the libtorch version.
import { lib } from "./library.ts";
import * as A from "./args.ts";
import { check, OUT, OUT_I32, OUT_I64, outHandle } from "./call.ts";
import { type Device, deviceCode } from "./device.ts";
import { dtypeCode } from "./dtype.ts";
import { DeviceType, MatmulPrecision } from "./ops.ts";
import { handleOf, Tensor } from "./tensor.ts";

/** Seeds libtorch's default generators (CPU and CUDA), like torch.manual_seed. */
export function manualSeed(seed: number | bigint): void {
  check("tt_manual_seed", lib.tt_manual_seed(A.seed64("manualSeed(seed)", "seed", seed)));
}

/** Sets libtorch's intra-op thread count (torch.set_num_threads). */
export function setNumThreads(n: number): void {
  A.posInt("setNumThreads(n)", "n", n);
  check("tt_set_num_threads", lib.tt_set_num_threads(n));
}

/**
 * Whether freed CPU tensor memory stays mapped for the next step. The shim's
 * CPU allocator (native/cpu_cache.cpp) maps tensor blocks of 1 MiB and more
 * itself and, with caching on, keeps each freed block for reuse by a block of
 * the same size, as PyTorch's CUDA caching allocator does; off, it unmaps them
 * on free. On by default when the shim loads (TORCH_SHIM_MALLOC=default turns
 * it off): without it every step faults its activations in again, which made
 * the default training run 1.4x slower. Only tensors are cached, so the rest of
 * the process (V8's ArrayBuffers) keeps glibc's own policy. Returns whether the
 * allocator is libtorch's CPU allocator.
 */
export function setCpuMemoryCaching(on: boolean): boolean {
  A.bool("setCpuMemoryCaching(on)", "on", on);
  check("tt_cpu_memory_caching", lib.tt_cpu_memory_caching(on ? 1 : 0, OUT_I32));
  return OUT_I32[0] === 1;
}

/** The CPU tensor cache's counters (setCpuMemoryCaching). */
export interface CpuCacheStats {
  /** Bytes of large tensor blocks mapped: in use plus cached. */
  mappedBytes: number;
  /** Bytes of those that are free, kept for reuse. */
  cachedBytes: number;
  /** mmap calls so far: flat once a loop's shapes have all been seen. */
  maps: number;
  /** Large blocks in use by tensors. */
  liveBlocks: number;
}

const STATS = new BigInt64Array(4);

export function cpuCacheStats(): CpuCacheStats {
  check("tt_cpu_cache_stats", lib.tt_cpu_cache_stats(STATS));
  return {
    mappedBytes: Number(STATS[0]),
    cachedBytes: Number(STATS[1]),
    maps: Number(STATS[2]),
    liveBlocks: Number(STATS[3]),
  };
}

/** Unmaps the cached free CPU blocks (torch.cuda.empty_cache for the CPU cache). */
export function emptyCpuCache(): void {
  check("tt_cpu_empty_cache", lib.tt_cpu_empty_cache());
}

export function getNumThreads(): number {
  check("tt_get_num_threads", lib.tt_get_num_threads(OUT_I32));
  return OUT_I32[0];
}

function setGradMode(enabled: boolean): boolean {
  check("tt_grad_mode", lib.tt_grad_mode(enabled ? 1 : 0, OUT_I32));
  return OUT_I32[0] !== 0;
}

export function isGradEnabled(): boolean {
  check("tt_grad_mode", lib.tt_grad_mode(-1, OUT_I32));
  return OUT_I32[0] !== 0;
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  A.func(enabled ? "enableGrad(fn)" : "noGrad(fn)", "fn", fn);
  const prev = setGradMode(enabled);
  try {
    const r = fn();
    if (r instanceof Promise) {
      throw new TypeError("noGrad()/enableGrad() take a synchronous function");
    }
    return r;
  } finally {
    setGradMode(prev);
  }
}

/** Runs `fn` with autograd off (torch.no_grad) and returns its result. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/**
 * Runs `fn` in inference mode (torch.inference_mode): no autograd records and
 * no version counters, cheaper than noGrad. Tensors made inside are inference
 * tensors: they cannot be saved for a later backward (clone them first) or
 * changed in place outside.
 */
export function inferenceMode<T>(fn: () => T): T {
  A.func("inferenceMode(fn)", "fn", fn);
  check("tt_inference_mode", lib.tt_inference_mode(1));
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError("inferenceMode() takes a synchronous function");
    return r;
  } finally {
    check("tt_inference_mode", lib.tt_inference_mode(0));
  }
}

/** Runs `fn` with autograd on (torch.enable_grad). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

export interface AutocastOptions {
  /**
   * Whose tensors autocast applies to: "cuda" (the default, as before) or
   * "cpu" (torch.autocast("cpu")); "cuda:N" means CUDA too (autocast state is
   * per device type, not per device).
   */
  device?: "cpu" | "cuda" | `cuda:${number}`;
  /** The lower precision: bfloat16 (default) or float16 (CUDA only). */
  dtype?: "bfloat16" | "float16";
}

/**
 * Runs `fn` under autocast (torch.autocast(device, dtype)): convolutions,
 * linear layers and matmuls on that device's tensors run in `dtype`, ops that
 * need the range (losses, norms, softmax) in float32, the rest in their
 * inputs' type; weights stay float32 (their casts are cached for the region
 * and dropped when the outermost region ends). No effect on the other
 * device's tensors. Nests; the previous state comes back on exit.
 */
export function autocast<T>(fn: () => T, opts: AutocastOptions = {}): T {
  A.func("autocast(fn, options)", "fn", fn);
  A.options("autocast(fn, options)", opts, ["device", "dtype"]);
  A.optOneOf("autocast(fn, options)", "options.dtype", opts.dtype, ["bfloat16", "float16"]);
  const device = opts.device ?? "cuda";
  let type: number;
  if (device === "cpu") type = DeviceType.cpu;
  else if (/^cuda(:\d+)?$/.test(device)) type = DeviceType.cuda;
  else throw new TypeError(`autocast: unknown device "${device}"; expected "cpu" or "cuda"`);
  if (type === DeviceType.cpu && opts.dtype === "float16") {
    throw new TypeError(
      'autocast: the CPU autocasts to bfloat16 only (libtorch); use dtype "bfloat16"',
    );
  }
  // Each region keeps its own saved state, so regions nest.
  const prev = new Int32Array(2);
  check(
    "tt_autocast_enter",
    lib.tt_autocast_enter(type, dtypeCode(opts.dtype === "float16" ? "float16" : "bfloat16"), prev),
  );
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError("autocast() takes a synchronous function");
    return r;
  } finally {
    check("tt_autocast_exit", lib.tt_autocast_exit(type, prev));
  }
}

/** Whether autocast is on for a device type now (torch.is_autocast_enabled / is_autocast_cpu_enabled). */
export function isAutocastEnabled(device: "cpu" | "cuda" = "cuda"): boolean {
  A.oneOf("isAutocastEnabled(device)", "device", device, ["cpu", "cuda"]);
  check(
    "tt_autocast_enabled",
    lib.tt_autocast_enabled(device === "cpu" ? DeviceType.cpu : DeviceType.cuda, OUT_I32),
  );
  return OUT_I32[0] !== 0;
}

/** libtorch's version string, e.g. "1.13.0". */
export const torchVersion: string = Deno.UnsafePointerView.getCString(lib.tt_torch_version()!);

/** Whether the shim was built against a libtorch with CUDA. */
export const compiledWithCuda: boolean = lib.tt_compiled_with_cuda() === 1;

export const cuda = {
  isAvailable(): boolean {
    check("tt_cuda_is_available", lib.tt_cuda_is_available(OUT_I32));
    return OUT_I32[0] !== 0;
  },
  deviceCount(): number {
    check("tt_cuda_device_count", lib.tt_cuda_device_count(OUT_I32));
    return OUT_I32[0];
  },
  /** Waits for all queued work on a CUDA device (default: the current one). */
  synchronize(device?: Device | string): void {
    A.optDevice("cuda.synchronize(device)", "device", device);
    check(
      "tt_cuda_synchronize",
      lib.tt_cuda_synchronize(device === undefined ? -1 : deviceCode(device)),
    );
  },
  /**
   * Whether a CUDA device computes in bfloat16 natively (compute capability
   * >= 8.0, as torch.cuda.is_bf16_supported); null when it cannot tell.
   */
  bf16Supported(device: Device | string = "cuda"): boolean | null {
    A.device("cuda.bf16Supported(device)", "device", device);
    check("tt_cuda_bf16_supported", lib.tt_cuda_bf16_supported(deviceCode(device), OUT_I32));
    return OUT_I32[0] === -1 ? null : OUT_I32[0] === 1;
  },
  /**
   * Free and total memory of a CUDA device in bytes (torch.cuda.mem_get_info:
   * what the driver reports free, the caching allocator's reserve counting as
   * used). Needs a build with CUDA's headers (as CUDA graphs do): elsewhere a
   * TorchError naming the build.
   */
  memGetInfo(device: Device | string = "cuda"): { free: number; total: number } {
    A.device("cuda.memGetInfo(device)", "device", device);
    const out = new BigInt64Array(2);
    check(
      "tt_cuda_mem_get_info",
      lib.tt_cuda_mem_get_info(deviceCode(device), out.subarray(0, 1), out.subarray(1, 2)),
    );
    return { free: Number(out[0]), total: Number(out[1]) };
  },
  /** cudnn.benchmark: pick the fastest convolution algorithms for fixed shapes. */
  setCudnnBenchmark(flag: boolean): void {
    A.bool("cuda.setCudnnBenchmark(flag)", "flag", flag);
    check("tt_set_cudnn_benchmark", lib.tt_set_cudnn_benchmark(flag ? 1 : 0));
  },
};

const DETERMINISM = new Int32Array(3);

/**
 * torch.use_deterministic_algorithms(on), with cuDNN as Lightning's
 * `deterministic=True` sets it: cudnn.deterministic = on and, when on,
 * cudnn.benchmark off and CUBLAS_WORKSPACE_CONFIG=:4096:8 (unless already set;
 * cuBLAS reads it when its first handle is made, so call this before any CUDA
 * matmul). With it an op that has no deterministic kernel raises a TorchError
 * naming the op (see `determinismHint`, ffi/error.ts). Process-wide.
 */
export function useDeterministicAlgorithms(on: boolean): void {
  A.bool("useDeterministicAlgorithms(on)", "on", on);
  check("tt_set_deterministic", lib.tt_set_deterministic(on ? 1 : 0));
}

/** What useDeterministicAlgorithms set: torch's flag, cudnn.deterministic, cudnn.benchmark. */
export function deterministicState(): {
  algorithms: boolean;
  cudnnDeterministic: boolean;
  cudnnBenchmark: boolean;
} {
  check("tt_deterministic_state", lib.tt_deterministic_state(DETERMINISM));
  return {
    algorithms: DETERMINISM[0] === 1,
    cudnnDeterministic: DETERMINISM[1] === 1,
    cudnnBenchmark: DETERMINISM[2] === 1,
  };
}

/** torch.set_float32_matmul_precision's settings. */
export type Float32MatmulPrecision = keyof typeof MatmulPrecision;

const PRECISIONS = Object.keys(MatmulPrecision) as Float32MatmulPrecision[];

/**
 * torch.set_float32_matmul_precision: "highest" (libtorch's default) keeps
 * float32 matmuls in float32; "high" lets CUDA matmuls use TensorFloat32 (or
 * two bfloat16s); "medium" lets them use bfloat16. Process-wide; no effect on
 * the CPU's float32 matmuls.
 */
export function setFloat32MatmulPrecision(precision: Float32MatmulPrecision): void {
  A.oneOf("setFloat32MatmulPrecision(precision)", "precision", precision, PRECISIONS);
  check(
    "tt_set_float32_matmul_precision",
    lib.tt_set_float32_matmul_precision(MatmulPrecision[precision]),
  );
}

/** torch.get_float32_matmul_precision: the current setFloat32MatmulPrecision value. */
export function getFloat32MatmulPrecision(): Float32MatmulPrecision {
  check("tt_float32_matmul_precision", lib.tt_float32_matmul_precision(OUT_I32));
  const name = PRECISIONS.find((k) => MatmulPrecision[k] === OUT_I32[0]);
  if (name === undefined) {
    throw new TypeError(`getFloat32MatmulPrecision: unknown code ${OUT_I32[0]} from the shim`);
  }
  return name;
}

/**
 * torch.backends.cudnn.allow_tf32 = on: whether cuDNN convolutions may use
 * TensorFloat32 (libtorch's default: true). Process-wide.
 */
export function setCudnnAllowTf32(on: boolean): void {
  A.bool("setCudnnAllowTf32(on)", "on", on);
  check("tt_set_cudnn_allow_tf32", lib.tt_set_cudnn_allow_tf32(on ? 1 : 0));
}

/** torch.backends.cudnn.allow_tf32: the current setCudnnAllowTf32 value. */
export function cudnnAllowTf32(): boolean {
  check("tt_cudnn_allow_tf32", lib.tt_cudnn_allow_tf32(OUT_I32));
  return OUT_I32[0] === 1;
}

/**
 * The number of calls into the shim the process has made so far (each
 * `lib.tt_*` call counts once, a failed one too; reading the count does not
 * count). The difference over a training step is its FFI crossings.
 */
export function ffiCalls(): number {
  check("tt_ffi_calls", lib.tt_ffi_calls(OUT_I64));
  return Number(OUT_I64[0]);
}

/** The default generator's state of a device, as a uint8 tensor (for exact resume). */
export function getRngState(device: Device | string = "cpu"): Tensor {
  A.device("getRngState(device)", "device", device);
  check("tt_rng_get_state", lib.tt_rng_get_state(deviceCode(device), OUT));
  return new Tensor(outHandle());
}

export function setRngState(state: Tensor, device: Device | string = "cpu"): void {
  A.tensor("setRngState(state, device)", "state", state);
  A.device("setRngState(state, device)", "device", device);
  check("tt_rng_set_state", lib.tt_rng_set_state(deviceCode(device), handleOf(state)));
}
