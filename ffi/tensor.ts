// Tensor: a handle to a libtorch tensor with PyTorch's method names in
// camelCase. Every method returns a new tensor (the caller or an enclosing
// `tidy` frees it) except the in-place ones, whose names end in `_`.
// Options objects carry what PyTorch passes as keywords: `t.sum({ dim: 1, keepdim: true })`.
import { lib } from "./library.ts";
import * as A from "./args.ts";
import {
  check,
  handleArray,
  ints,
  OUT,
  OUT2,
  OUT_F64,
  OUT_I32,
  outHandle,
  outHandle2,
  outHandleOrNull,
} from "./call.ts";
import { type Device, deviceCode, deviceName } from "./device.ts";
import {
  DTYPE_BYTES,
  dtypeCode,
  type DTypeName,
  dtypeName,
  dtypeOfArray,
  newTypedArray,
  type TypedArray,
} from "./dtype.ts";
import { TorchError } from "./error.ts";
import { Binary, InPlace, MemoryFormat, Reduce, Unary } from "./ops.ts";
import { adoptHandle, bindTensorClass, keep, Life, release, track } from "./memory.ts";

export interface ReduceOptions {
  /** A dim or dims to reduce; absent reduces over every element. */
  dim?: number | number[];
  keepdim?: boolean;
}

/** PyTorch's positional `dim` of reductions: `t.sum(1)`, `t.mean([0, 2], true)`. */
export type Dim = number | number[];

const INFO = new BigInt64Array(8 + 64);

const STD_KEYS = ["dim", "keepdim", "unbiased"] as const;
const TOPK_KEYS = ["dim", "largest", "sorted"] as const;
const SORT_KEYS = ["dim", "descending"] as const;

function dimList(dim: number | number[] | undefined): number[] {
  if (dim === undefined) return [];
  return Array.isArray(dim) ? dim : [dim];
}

/** Nested JS arrays of a tensor's values, as `toArray()` returns them. */
export type NestedArray = number | boolean | NestedArray[];

// The private-field accessors below are bound in Tensor's static block: only
// this module can reach a tensor's native handle and its bookkeeping.
let lifeOfImpl: (t: Tensor) => Life;
let isTensorImpl: (v: object) => v is Tensor;
let resetInfoImpl: (t: Tensor) => void;

export class Tensor implements Disposable {
  /** The native handle and memory.ts' bookkeeping; never exposed. */
  readonly #life: Life;
  #shape: number[] | null = null;
  #dtype: DTypeName | null = null;
  #device: Device | null = null;

  /** Wraps a handle the shim returned; takes ownership of it. */
  constructor(handle: Deno.PointerObject) {
    this.#life = new Life(handle);
    track(this);
  }

  static {
    lifeOfImpl = (t) => t.#life;
    isTensorImpl = (v): v is Tensor => #life in v;
    resetInfoImpl = (t) => {
      t.#shape = null;
      t.#dtype = null;
      t.#device = null;
    };
  }

  get isDisposed(): boolean {
    return this.#life.h === null;
  }

  #info(): void {
    check("tt_info", lib.tt_info(handleOf(this), INFO, INFO.length));
    this.#dtype = dtypeName(Number(INFO[0]));
    this.#device = deviceName(Number(INFO[1]));
    const nd = Number(INFO[2]);
    const s = new Array<number>(nd);
    for (let i = 0; i < nd; i++) s[i] = Number(INFO[8 + i]);
    this.#shape = s;
  }

  /** Sizes of each dimension (a copy). */
  get shape(): number[] {
    if (this.#shape === null) this.#info();
    return this.#shape!.slice();
  }

  get ndim(): number {
    if (this.#shape === null) this.#info();
    return this.#shape!.length;
  }

  get numel(): number {
    if (this.#shape === null) this.#info();
    let n = 1;
    for (const s of this.#shape!) n *= s;
    return n;
  }

  get dtype(): DTypeName {
    if (this.#dtype === null) this.#info();
    return this.#dtype!;
  }

  get device(): Device {
    if (this.#device === null) this.#info();
    return this.#device!;
  }

  size(): number[];
  size(dim: number): number;
  size(dim?: number): number | number[] {
    if (dim === undefined) return this.shape;
    A.int("Tensor.size(dim)", "dim", dim);
    const s = this.shape;
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) {
      throw new TorchError("size", `dim ${dim} out of range for a ${s.length}-D tensor`);
    }
    return s[d];
  }

  get requiresGrad(): boolean {
    check("tt_info", lib.tt_info(handleOf(this), INFO, INFO.length));
    return INFO[3] !== 0n;
  }

  get isContiguous(): boolean {
    check("tt_info", lib.tt_info(handleOf(this), INFO, INFO.length));
    return INFO[4] !== 0n;
  }

  get isLeaf(): boolean {
    check("tt_info", lib.tt_info(handleOf(this), INFO, INFO.length));
    return INFO[6] !== 0n;
  }

  /** Frees the native tensor now. A second call throws; `using` tolerates it. */
  dispose(): void {
    if (!release(this)) {
      throw new TorchError("dispose", "this tensor was already disposed");
    }
  }

  [Symbol.dispose](): void {
    release(this);
  }

  /** Keeps this tensor alive past every tidy scope (see keep()). */
  keep(): this {
    return keep(this);
  }

  toString(): string {
    if (this.#life.h === null) return "Tensor(disposed)";
    return `Tensor(shape=[${this.shape}], dtype=${this.dtype}, device=${this.device})`;
  }

  // ---- reading values ----

  /** The values as a typed array (a copy on the host). float16/bfloat16 come back as float32. */
  toTypedArray(): TypedArray {
    if (this.dtype === "float16" || this.dtype === "bfloat16") {
      using f = this.to({ dtype: "float32" });
      return f.toTypedArray();
    }
    const n = this.numel;
    const out = newTypedArray(this.dtype, n);
    check(
      "tt_copy_to_buffer",
      lib.tt_copy_to_buffer(handleOf(this), new Uint8Array(out.buffer), out.byteLength),
    );
    return out;
  }

  /** The raw bytes of the values in this tensor's dtype (little-endian). */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.numel * DTYPE_BYTES[this.dtype]);
    check("tt_copy_to_buffer", lib.tt_copy_to_buffer(handleOf(this), out, out.byteLength));
    return out;
  }

  /** The values as nested JS arrays (int64 as numbers, bool as booleans). */
  toArray(): NestedArray {
    const flat = this.toTypedArray();
    const isBool = this.dtype === "bool";
    const get = (i: number): number | boolean => {
      const v = flat[i];
      return isBool ? v !== 0 : Number(v);
    };
    const shape = this.shape;
    if (shape.length === 0) return get(0);
    let offset = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = new Array(shape[d]);
      for (let i = 0; i < shape[d]; i++) {
        out[i] = d === shape.length - 1 ? get(offset++) : build(d + 1);
      }
      return out;
    };
    return build(0);
  }

  /** The single value of a one-element tensor (a host sync on CUDA). */
  item(): number {
    check("tt_item", lib.tt_item(handleOf(this), OUT_F64));
    return OUT_F64[0];
  }

  // ---- conversion ----

  /** Converts dtype and/or device; returns a new tensor (a copy only when needed). */
  to(
    opts: { dtype?: DTypeName; device?: Device | string; copy?: boolean } | Device | DTypeName,
  ): Tensor {
    A.toArgs("Tensor.to(options)", opts);
    const o = typeof opts === "string"
      ? (opts === "cpu" || opts.startsWith("cuda")
        ? { device: opts }
        : { dtype: opts as DTypeName })
      : opts;
    const dt = o.dtype === undefined ? -1 : dtypeCode(o.dtype);
    const dev = o.device === undefined ? -2 : deviceCode(o.device);
    return wrap("tt_to", lib.tt_to(handleOf(this), dt, dev, o.copy ? 1 : 0, OUT));
  }

  float(): Tensor {
    return this.to({ dtype: "float32" });
  }

  long(): Tensor {
    return this.to({ dtype: "int64" });
  }

  cpu(): Tensor {
    return this.to({ device: "cpu" });
  }

  /**
   * The layout ATen's kernels pick for this tensor from its strides
   * (`suggest_memory_format()`): "channelsLast" after `contiguous("channelsLast")`
   * or `Module.channelsLast()`, else "contiguous".
   */
  get memoryFormat(): "contiguous" | "channelsLast" {
    check("tt_memory_format", lib.tt_memory_format(handleOf(this), OUT_I32));
    return OUT_I32[0] === MemoryFormat.channelsLast ? "channelsLast" : "contiguous";
  }

  contiguous(memoryFormat: "contiguous" | "channelsLast" = "contiguous"): Tensor {
    A.oneOf("Tensor.contiguous(memoryFormat)", "memoryFormat", memoryFormat, A.MEMORY_FORMATS);
    return wrap(
      "tt_contiguous",
      lib.tt_contiguous(
        handleOf(this),
        memoryFormat === "channelsLast" ? MemoryFormat.channelsLast : MemoryFormat.contiguous,
        OUT,
      ),
    );
  }

  clone(): Tensor {
    return wrap("tt_clone", lib.tt_clone(handleOf(this), OUT));
  }

  detach(): Tensor {
    return wrap("tt_detach", lib.tt_detach(handleOf(this), OUT));
  }

  // ---- views and joins ----

  reshape(...shape: number[] | [number[]]): Tensor {
    const s = A.intArgs("Tensor.reshape(...shape)", "shape", shape);
    return wrap("tt_reshape", lib.tt_reshape(handleOf(this), ints(s), s.length, OUT));
  }

  view(...shape: number[] | [number[]]): Tensor {
    const s = A.intArgs("Tensor.view(...shape)", "shape", shape);
    return wrap("tt_view", lib.tt_view(handleOf(this), ints(s), s.length, OUT));
  }

  permute(...dims: number[] | [number[]]): Tensor {
    const d = A.intArgs("Tensor.permute(...dims)", "dims", dims);
    return wrap("tt_permute", lib.tt_permute(handleOf(this), ints(d), d.length, OUT));
  }

  transpose(d0: number, d1: number): Tensor {
    A.int("Tensor.transpose(dim0, dim1)", "dim0", d0);
    A.int("Tensor.transpose(dim0, dim1)", "dim1", d1);
    return wrap("tt_transpose", lib.tt_transpose(handleOf(this), d0, d1, OUT));
  }

  /** The matrix transpose of a 2-D tensor. */
  get T(): Tensor {
    return this.transpose(0, 1);
  }

  flatten(startDim = 0, endDim = -1): Tensor {
    A.int("Tensor.flatten(startDim, endDim)", "startDim", startDim);
    A.int("Tensor.flatten(startDim, endDim)", "endDim", endDim);
    return wrap("tt_flatten", lib.tt_flatten(handleOf(this), startDim, endDim, OUT));
  }

  squeeze(dim?: number): Tensor {
    A.optInt("Tensor.squeeze(dim)", "dim", dim);
    return wrap(
      "tt_squeeze",
      lib.tt_squeeze(handleOf(this), dim ?? 0, dim === undefined ? 1 : 0, OUT),
    );
  }

  unsqueeze(dim: number): Tensor {
    A.int("Tensor.unsqueeze(dim)", "dim", dim);
    return wrap("tt_unsqueeze", lib.tt_unsqueeze(handleOf(this), dim, OUT));
  }

  narrow(dim: number, start: number, length: number): Tensor {
    A.int("Tensor.narrow(dim, start, length)", "dim", dim);
    A.int("Tensor.narrow(dim, start, length)", "start", start);
    A.nonNegInt("Tensor.narrow(dim, start, length)", "length", length);
    return wrap("tt_narrow", lib.tt_narrow(handleOf(this), dim, start, length, OUT));
  }

  /** Python's `t[start:end:step]` along `dim`. */
  slice(dim: number, start = 0, end = Number.MAX_SAFE_INTEGER, step = 1): Tensor {
    A.int("Tensor.slice(dim, start, end, step)", "dim", dim);
    A.int("Tensor.slice(dim, start, end, step)", "start", start);
    A.int("Tensor.slice(dim, start, end, step)", "end", end);
    A.posInt("Tensor.slice(dim, start, end, step)", "step", step);
    return wrap("tt_slice", lib.tt_slice(handleOf(this), dim, start, end, step, OUT));
  }

  select(dim: number, index: number): Tensor {
    A.int("Tensor.select(dim, index)", "dim", dim);
    A.int("Tensor.select(dim, index)", "index", index);
    return wrap("tt_select", lib.tt_select(handleOf(this), dim, index, OUT));
  }

  indexSelect(dim: number, index: Tensor): Tensor {
    A.int("Tensor.indexSelect(dim, index)", "dim", dim);
    A.tensor("Tensor.indexSelect(dim, index)", "index", index);
    return wrap("tt_index_select", lib.tt_index_select(handleOf(this), dim, handleOf(index), OUT));
  }

  gather(dim: number, index: Tensor): Tensor {
    A.int("Tensor.gather(dim, index)", "dim", dim);
    A.tensor("Tensor.gather(dim, index)", "index", index);
    return wrap("tt_gather", lib.tt_gather(handleOf(this), dim, handleOf(index), OUT));
  }

  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    A.int("Tensor.scatterAdd(dim, index, src)", "dim", dim);
    A.tensor("Tensor.scatterAdd(dim, index, src)", "index", index);
    A.tensor("Tensor.scatterAdd(dim, index, src)", "src", src);
    return wrap(
      "tt_scatter_add",
      lib.tt_scatter_add(handleOf(this), dim, handleOf(index), handleOf(src), OUT),
    );
  }

  expand(...shape: number[] | [number[]]): Tensor {
    const s = A.intArgs("Tensor.expand(...shape)", "shape", shape);
    return wrap("tt_expand", lib.tt_expand(handleOf(this), ints(s), s.length, OUT));
  }

  expandAs(other: Tensor): Tensor {
    A.tensor("Tensor.expandAs(other)", "other", other);
    return this.expand(other.shape);
  }

  repeat(...reps: number[] | [number[]]): Tensor {
    const r = A.intArgs("Tensor.repeat(...repeats)", "repeats", reps);
    return wrap("tt_repeat", lib.tt_repeat(handleOf(this), ints(r), r.length, OUT));
  }

  flip(...dims: number[] | [number[]]): Tensor {
    const d = A.intArgs("Tensor.flip(...dims)", "dims", dims);
    return wrap("tt_flip", lib.tt_flip(handleOf(this), ints(d), d.length, OUT));
  }

  chunk(chunks: number, dim = 0): Tensor[] {
    A.posInt("Tensor.chunk(chunks, dim)", "chunks", chunks);
    A.int("Tensor.chunk(chunks, dim)", "dim", dim);
    check("tt_chunk", lib.tt_chunk(handleOf(this), chunks, dim, OUT, OUT.length, OUT2));
    return manyOut(Number(OUT2[0]));
  }

  /** Like torch.split: equal parts of `size`, or the given sizes. */
  split(size: number | number[], dim = 0): Tensor[] {
    if (Array.isArray(size)) A.shape("Tensor.split(splitSize, dim)", "splitSize", size);
    else A.posInt("Tensor.split(splitSize, dim)", "splitSize", size);
    A.int("Tensor.split(splitSize, dim)", "dim", dim);
    let sizes: number[];
    if (Array.isArray(size)) sizes = size;
    else {
      const total = this.size(dim);
      sizes = [];
      for (let s = 0; s < total; s += size) sizes.push(Math.min(size, total - s));
    }
    const buf = ints(sizes);
    if (sizes.length > OUT.length) {
      throw new TorchError("split", `at most ${OUT.length} parts per call`);
    }
    check("tt_split", lib.tt_split(handleOf(this), buf, sizes.length, dim, OUT, OUT.length, OUT2));
    return manyOut(Number(OUT2[0]));
  }

  // ---- elementwise math ----

  add(other: Tensor | number, alpha = 1): Tensor {
    A.tensorOrNum("Tensor.add(other, alpha)", "other", other);
    A.num("Tensor.add(other, alpha)", "alpha", alpha);
    return binary(Binary.add, this, other, alpha);
  }

  sub(other: Tensor | number, alpha = 1): Tensor {
    A.tensorOrNum("Tensor.sub(other, alpha)", "other", other);
    A.num("Tensor.sub(other, alpha)", "alpha", alpha);
    return binary(Binary.sub, this, other, alpha);
  }

  mul(other: Tensor | number): Tensor {
    A.tensorOrNum("Tensor.mul(other)", "other", other);
    return binary(Binary.mul, this, other);
  }

  div(other: Tensor | number): Tensor {
    A.tensorOrNum("Tensor.div(other)", "other", other);
    return binary(Binary.div, this, other);
  }

  /** `other - this` (PyTorch's rsub). */
  rsub(other: Tensor | number): Tensor {
    A.tensorOrNum("Tensor.rsub(other)", "other", other);
    return binary(Binary.rsub, this, other);
  }

  pow(exponent: Tensor | number): Tensor {
    A.tensorOrNum("Tensor.pow(exponent)", "exponent", exponent);
    return binary(Binary.pow, this, exponent);
  }

  remainder(other: Tensor | number): Tensor {
    A.tensorOrNum("Tensor.remainder(other)", "other", other);
    return binary(Binary.remainder, this, other);
  }

  floorDivide(other: Tensor | number): Tensor {
    A.tensorOrNum("Tensor.floorDivide(other)", "other", other);
    return binary(Binary.floorDivide, this, other);
  }

  maximum(other: Tensor | number): Tensor {
    A.tensorOrNum("Tensor.maximum(other)", "other", other);
    return binary(Binary.maximum, this, other);
  }

  minimum(other: Tensor | number): Tensor {
    A.tensorOrNum("Tensor.minimum(other)", "other", other);
    return binary(Binary.minimum, this, other);
  }

  atan2(other: Tensor): Tensor {
    A.tensor("Tensor.atan2(other)", "other", other);
    return binary(Binary.atan2, this, other);
  }

  eq(other: Tensor | number): Tensor {
    A.tensorOrNum("Tensor.eq(other)", "other", other);
    return binary(Binary.eq, this, other);
  }

  ne(other: Tensor | number): Tensor {
    A.tensorOrNum("Tensor.ne(other)", "other", other);
    return binary(Binary.ne, this, other);
  }

  gt(other: Tensor | number): Tensor {
    A.tensorOrNum("Tensor.gt(other)", "other", other);
    return binary(Binary.gt, this, other);
  }

  ge(other: Tensor | number): Tensor {
    A.tensorOrNum("Tensor.ge(other)", "other", other);
    return binary(Binary.ge, this, other);
  }

  lt(other: Tensor | number): Tensor {
    A.tensorOrNum("Tensor.lt(other)", "other", other);
    return binary(Binary.lt, this, other);
  }

  le(other: Tensor | number): Tensor {
    A.tensorOrNum("Tensor.le(other)", "other", other);
    return binary(Binary.le, this, other);
  }

  logicalAnd(other: Tensor): Tensor {
    A.tensor("Tensor.logicalAnd(other)", "other", other);
    return binary(Binary.logicalAnd, this, other);
  }

  logicalOr(other: Tensor): Tensor {
    A.tensor("Tensor.logicalOr(other)", "other", other);
    return binary(Binary.logicalOr, this, other);
  }

  neg(): Tensor {
    return unary(Unary.neg, this);
  }

  exp(): Tensor {
    return unary(Unary.exp, this);
  }

  log(): Tensor {
    return unary(Unary.log, this);
  }

  log1p(): Tensor {
    return unary(Unary.log1p, this);
  }

  expm1(): Tensor {
    return unary(Unary.expm1, this);
  }

  sqrt(): Tensor {
    return unary(Unary.sqrt, this);
  }

  rsqrt(): Tensor {
    return unary(Unary.rsqrt, this);
  }

  abs(): Tensor {
    return unary(Unary.abs, this);
  }

  relu(): Tensor {
    return unary(Unary.relu, this);
  }

  sigmoid(): Tensor {
    return unary(Unary.sigmoid, this);
  }

  tanh(): Tensor {
    return unary(Unary.tanh, this);
  }

  sin(): Tensor {
    return unary(Unary.sin, this);
  }

  cos(): Tensor {
    return unary(Unary.cos, this);
  }

  floor(): Tensor {
    return unary(Unary.floor, this);
  }

  ceil(): Tensor {
    return unary(Unary.ceil, this);
  }

  round(): Tensor {
    return unary(Unary.round, this);
  }

  trunc(): Tensor {
    return unary(Unary.trunc, this);
  }

  sign(): Tensor {
    return unary(Unary.sign, this);
  }

  square(): Tensor {
    return unary(Unary.square, this);
  }

  reciprocal(): Tensor {
    return unary(Unary.reciprocal, this);
  }

  logicalNot(): Tensor {
    return unary(Unary.logicalNot, this);
  }

  isfinite(): Tensor {
    return unary(Unary.isfinite, this);
  }

  /** `clamp(min, max)` (either undefined) or `clamp({ min, max })`. */
  clamp(opts: number | undefined | { min?: number; max?: number }, max?: number): Tensor {
    opts = A.clampArgs("Tensor.clamp(min, max)", opts, max);
    return wrap(
      "tt_clamp",
      lib.tt_clamp(
        handleOf(this),
        opts.min ?? 0,
        opts.max ?? 0,
        opts.min === undefined ? 0 : 1,
        opts.max === undefined ? 0 : 1,
        OUT,
      ),
    );
  }

  matmul(other: Tensor): Tensor {
    A.tensor("Tensor.matmul(other)", "other", other);
    return wrap("tt_matmul", lib.tt_matmul(handleOf(this), handleOf(other), OUT));
  }

  lerp(end: Tensor, weight: Tensor | number): Tensor {
    A.tensor("Tensor.lerp(end, weight)", "end", end);
    A.tensorOrNum("Tensor.lerp(end, weight)", "weight", weight);
    if (typeof weight === "number") {
      // a + w * (b - a), as torch.lerp with a scalar weight
      using d = end.sub(this);
      return this.add(d, weight);
    }
    return wrap("tt_lerp", lib.tt_lerp(handleOf(this), handleOf(end), handleOf(weight), OUT));
  }

  maskedFill(mask: Tensor, value: number): Tensor {
    A.tensor("Tensor.maskedFill(mask, value)", "mask", mask);
    A.num("Tensor.maskedFill(mask, value)", "value", value);
    return wrap("tt_masked_fill", lib.tt_masked_fill(handleOf(this), handleOf(mask), value, OUT));
  }

  oneHot(numClasses = -1): Tensor {
    A.int("Tensor.oneHot(numClasses)", "numClasses", numClasses);
    return wrap("tt_one_hot", lib.tt_one_hot(handleOf(this), numClasses, OUT));
  }

  cumsum(dim: number): Tensor {
    A.int("Tensor.cumsum(dim)", "dim", dim);
    return wrap("tt_cumsum", lib.tt_cumsum(handleOf(this), dim, OUT));
  }

  // ---- reductions ----

  sum(opts: Dim | ReduceOptions = {}, keepdim?: boolean | ReduceOptions): Tensor {
    opts = A.reduceArgs("Tensor.sum(dim, options)", opts, keepdim);
    return reduce(Reduce.sum, this, opts);
  }

  mean(opts: Dim | ReduceOptions = {}, keepdim?: boolean | ReduceOptions): Tensor {
    opts = A.reduceArgs("Tensor.mean(dim, options)", opts, keepdim);
    return reduce(Reduce.mean, this, opts);
  }

  /** Maximum over `dim` (values only, like amax), or over everything. */
  max(opts: Dim | ReduceOptions = {}, keepdim?: boolean | ReduceOptions): Tensor {
    opts = A.reduceArgs("Tensor.max(dim, options)", opts, keepdim);
    return reduce(Reduce.amax, this, opts);
  }

  min(opts: Dim | ReduceOptions = {}, keepdim?: boolean | ReduceOptions): Tensor {
    opts = A.reduceArgs("Tensor.min(dim, options)", opts, keepdim);
    return reduce(Reduce.amin, this, opts);
  }

  amax(opts: Dim | ReduceOptions = {}, keepdim?: boolean | ReduceOptions): Tensor {
    opts = A.reduceArgs("Tensor.amax(dim, options)", opts, keepdim);
    return reduce(Reduce.amax, this, opts);
  }

  amin(opts: Dim | ReduceOptions = {}, keepdim?: boolean | ReduceOptions): Tensor {
    opts = A.reduceArgs("Tensor.amin(dim, options)", opts, keepdim);
    return reduce(Reduce.amin, this, opts);
  }

  prod(opts: Dim | ReduceOptions = {}, keepdim?: boolean | ReduceOptions): Tensor {
    opts = A.reduceArgs("Tensor.prod(dim, options)", opts, keepdim);
    return reduce(Reduce.prod, this, opts);
  }

  /** Standard deviation; `unbiased` (default true) uses Bessel's correction. */
  std(
    opts: Dim | ReduceOptions & { unbiased?: boolean } = {},
    unbiased?: boolean | ReduceOptions & { unbiased?: boolean },
  ): Tensor {
    opts = A.reduceArgs("Tensor.std(dim, options)", opts, unbiased, STD_KEYS, "unbiased");
    return reduce(Reduce.std, this, opts, opts.unbiased === false ? 0 : 1);
  }

  var(
    opts: Dim | ReduceOptions & { unbiased?: boolean } = {},
    unbiased?: boolean | ReduceOptions & { unbiased?: boolean },
  ): Tensor {
    opts = A.reduceArgs("Tensor.var(dim, options)", opts, unbiased, STD_KEYS, "unbiased");
    return reduce(Reduce.var, this, opts, opts.unbiased === false ? 0 : 1);
  }

  logsumexp(opts: Dim | ReduceOptions = {}, keepdim?: boolean | ReduceOptions): Tensor {
    opts = A.reduceArgs("Tensor.logsumexp(dim, options)", opts, keepdim);
    return reduce(Reduce.logsumexp, this, opts);
  }

  all(opts: Dim | ReduceOptions = {}, keepdim?: boolean | ReduceOptions): Tensor {
    opts = A.reduceArgs("Tensor.all(dim, options)", opts, keepdim);
    return reduce(Reduce.all, this, opts);
  }

  any(opts: Dim | ReduceOptions = {}, keepdim?: boolean | ReduceOptions): Tensor {
    opts = A.reduceArgs("Tensor.any(dim, options)", opts, keepdim);
    return reduce(Reduce.any, this, opts);
  }

  argmax(
    opts: number | { dim?: number; keepdim?: boolean } = {},
    keepdim?: boolean | { keepdim?: boolean },
  ): Tensor {
    opts = A.dimArgs("Tensor.argmax(dim, options)", opts, keepdim);
    return argReduce(this, opts, 0);
  }

  argmin(
    opts: number | { dim?: number; keepdim?: boolean } = {},
    keepdim?: boolean | { keepdim?: boolean },
  ): Tensor {
    opts = A.dimArgs("Tensor.argmin(dim, options)", opts, keepdim);
    return argReduce(this, opts, 1);
  }

  /** The k largest (or smallest) values along `dim` and their indices. */
  topk(
    k: number,
    opts: number | { dim?: number; largest?: boolean; sorted?: boolean } = {},
    largest?: boolean,
  ): { values: Tensor; indices: Tensor } {
    A.nonNegInt("Tensor.topk(k, dim, options)", "k", k);
    opts = A.dimArgs("Tensor.topk(k, dim, options)", opts, largest, TOPK_KEYS, "largest");
    check(
      "tt_topk",
      lib.tt_topk(
        handleOf(this),
        k,
        opts.dim ?? -1,
        opts.largest === false ? 0 : 1,
        opts.sorted === false ? 0 : 1,
        OUT,
        OUT2,
      ),
    );
    return pairOut();
  }

  sort(
    opts: number | { dim?: number; descending?: boolean } = {},
    descending?: boolean,
  ): { values: Tensor; indices: Tensor } {
    opts = A.dimArgs("Tensor.sort(dim, options)", opts, descending, SORT_KEYS, "descending");
    check(
      "tt_sort",
      lib.tt_sort(handleOf(this), opts.dim ?? -1, opts.descending ? 1 : 0, OUT, OUT2),
    );
    return pairOut();
  }

  /** The p-norm (default 2) over `dim`, or over everything. */
  norm(opts: number | ReduceOptions & { p?: number } = {}, dim?: Dim, keepdim?: boolean): Tensor {
    opts = A.normArgs("Tensor.norm(p, dim, keepdim)", opts, dim, keepdim);
    const d = dimList(opts.dim);
    return wrap(
      "tt_norm",
      lib.tt_norm(handleOf(this), opts.p ?? 2, ints(d), d.length, opts.keepdim ? 1 : 0, OUT),
    );
  }

  softmax(dim: number): Tensor {
    A.int("Tensor.softmax(dim)", "dim", dim);
    return wrap("tt_softmax", lib.tt_softmax(handleOf(this), dim, 0, OUT));
  }

  logSoftmax(dim: number): Tensor {
    A.int("Tensor.logSoftmax(dim)", "dim", dim);
    return wrap("tt_softmax", lib.tt_softmax(handleOf(this), dim, 1, OUT));
  }

  // ---- in place (under noGrad for parameters) ----

  add_(other: Tensor | number, alpha = 1): this {
    A.tensorOrNum("Tensor.add_(other, alpha)", "other", other);
    A.num("Tensor.add_(other, alpha)", "alpha", alpha);
    return inplace(InPlace.add_, this, other, alpha);
  }

  sub_(other: Tensor | number, alpha = 1): this {
    A.tensorOrNum("Tensor.sub_(other, alpha)", "other", other);
    A.num("Tensor.sub_(other, alpha)", "alpha", alpha);
    return inplace(InPlace.sub_, this, other, alpha);
  }

  mul_(other: Tensor | number): this {
    A.tensorOrNum("Tensor.mul_(other)", "other", other);
    return inplace(InPlace.mul_, this, other, 1);
  }

  div_(other: Tensor | number): this {
    A.tensorOrNum("Tensor.div_(other)", "other", other);
    return inplace(InPlace.div_, this, other, 1);
  }

  copy_(src: Tensor): this {
    A.tensor("Tensor.copy_(src)", "src", src);
    return inplace(InPlace.copy_, this, src, 0);
  }

  /** this += weight * (end - this) */
  lerp_(end: Tensor, weight: number): this {
    A.tensor("Tensor.lerp_(end, weight)", "end", end);
    A.num("Tensor.lerp_(end, weight)", "weight", weight);
    return inplace(InPlace.lerp_, this, end, weight);
  }

  fill_(value: number): this {
    A.num("Tensor.fill_(value)", "value", value);
    return inplace(InPlace.fill_, this, value, 0);
  }

  zero_(): this {
    return inplace(InPlace.zero_, this, 0, 0);
  }

  clampMin_(min: number): this {
    A.num("Tensor.clampMin_(min)", "min", min);
    return inplace(InPlace.clampMin_, this, min, 0);
  }

  clampMax_(max: number): this {
    A.num("Tensor.clampMax_(max)", "max", max);
    return inplace(InPlace.clampMax_, this, max, 0);
  }

  relu_(): this {
    return inplace(InPlace.relu_, this, 0, 0);
  }

  // ---- autograd ----

  requiresGrad_(flag = true): this {
    A.bool("Tensor.requiresGrad_(requiresGrad)", "requiresGrad", flag);
    check("tt_set_requires_grad", lib.tt_set_requires_grad(handleOf(this), flag ? 1 : 0));
    return this;
  }

  /** Back-propagates from this tensor (a scalar unless `gradient` is given). */
  backward(gradient?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    A.optTensor("Tensor.backward(gradient, options)", "gradient", gradient);
    A.options("Tensor.backward(gradient, options)", opts, ["retainGraph"]);
    A.optBool("Tensor.backward(gradient, options)", "options.retainGraph", opts.retainGraph);
    check(
      "tt_backward",
      lib.tt_backward(handleOf(this), handleOfOpt(gradient), opts.retainGraph ? 1 : 0),
    );
  }

  /** The accumulated gradient (a new handle to it), or null. */
  get grad(): Tensor | null {
    check("tt_grad", lib.tt_grad(handleOf(this), OUT));
    const h = outHandleOrNull();
    return h === null ? null : new Tensor(h);
  }

  set grad(g: Tensor | null) {
    A.optTensor("Tensor.grad = value", "value", g);
    check("tt_set_grad", lib.tt_set_grad(handleOf(this), handleOfOpt(g)));
  }
}

// ---- internal: ffi/ only (mod.ts does not export these) ----

function disposedError(): TorchError {
  return new TorchError(
    "tensor",
    "this tensor was disposed and cannot be used; keep it (keep(t)) or return it from tidy()",
  );
}

/**
 * @internal The native handle of `t`, for the calls in ffi/; throws a
 * TorchError once `t` is disposed, so no freed handle reaches the shim.
 */
export function handleOf(t: Tensor): Deno.PointerObject {
  const h = lifeOfImpl(t).h;
  if (h === null) throw disposedError();
  return h;
}

/** @internal handleOf for optional tensor arguments (null or undefined pass as null). */
export function handleOfOpt(t: Tensor | null | undefined): Deno.PointerObject | null {
  return t === null || t === undefined ? null : handleOf(t);
}

/** @internal The bookkeeping record of `t` (memory.ts, lists.ts). */
export function lifeOf(t: Tensor): Life {
  return lifeOfImpl(t);
}

/** @internal True for real Tensor objects only (a private-field brand check, not duck typing). */
export function isTensor(v: unknown): v is Tensor {
  return typeof v === "object" && v !== null && isTensorImpl(v);
}

bindTensorClass({ lifeOf: (t) => lifeOfImpl(t as Tensor), isTensor });

/**
 * @internal PyTorch's `dst.data = src`: `dst` keeps its identity (holders such
 * as optimizers, TensorLists and the tidy scopes keep following it) and takes
 * `src`'s native tensor; its own old one is freed and `src` becomes disposed.
 * Used by Module.to() and Module.channelsLast().
 */
export function assignData(dst: Tensor, src: Tensor): void {
  if (dst === src) return;
  const a = lifeOfImpl(dst);
  const b = lifeOfImpl(src);
  if (a.h === null || b.h === null) throw disposedError();
  adoptHandle(a, src, b);
  resetInfoImpl(dst);
}

// ---- helpers shared with the creation and functional modules ----

/** Checks `status` and wraps OUT[0] as a new Tensor. */
export function wrap(op: string, status: number): Tensor {
  check(op, status);
  return new Tensor(outHandle());
}

function manyOut(n: number): Tensor[] {
  const out: Tensor[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = new Tensor(outHandle(i));
  return out;
}

function pairOut(): { values: Tensor; indices: Tensor } {
  const values = new Tensor(outHandle());
  const indices = new Tensor(outHandle2());
  return { values, indices };
}

function unary(op: number, a: Tensor): Tensor {
  return wrap("tt_unary", lib.tt_unary(op, handleOf(a), OUT));
}

function binary(op: number, a: Tensor, b: Tensor | number, alpha = 1): Tensor {
  if (typeof b === "number") {
    if (alpha !== 1) b *= alpha;
    return wrap("tt_binary_scalar", lib.tt_binary_scalar(op, handleOf(a), b, OUT));
  }
  return wrap("tt_binary", lib.tt_binary(op, handleOf(a), handleOf(b), alpha, OUT));
}

function inplace<T extends Tensor>(op: number, a: T, b: Tensor | number, s: number): T {
  if (typeof b === "number") {
    check("tt_inplace", lib.tt_inplace(op, handleOf(a), null, op <= InPlace.div_ ? b * s : b));
  } else {
    check("tt_inplace", lib.tt_inplace(op, handleOf(a), handleOf(b), s));
  }
  return a;
}

function reduce(op: number, a: Tensor, opts: ReduceOptions, correction = 1): Tensor {
  const d = dimList(opts.dim);
  return wrap(
    "tt_reduce",
    lib.tt_reduce(op, handleOf(a), ints(d), d.length, opts.keepdim ? 1 : 0, correction, OUT),
  );
}

function argReduce(a: Tensor, opts: { dim?: number; keepdim?: boolean }, isMin: number): Tensor {
  return wrap(
    "tt_argmax",
    lib.tt_argmax(
      handleOf(a),
      opts.dim ?? 0,
      opts.dim === undefined ? 0 : 1,
      opts.keepdim ? 1 : 0,
      isMin,
      OUT,
    ),
  );
}

export { dtypeOfArray, handleArray, newTypedArray };
