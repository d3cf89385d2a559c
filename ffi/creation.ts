// Creating tensors: from JS data, filled, random, ranges, joins.
import { lib } from "./library.ts";
import * as A from "./args.ts";
import { check, handleArray, ints, OUT } from "./call.ts";
import { type Device, deviceCode } from "./device.ts";
import { dtypeCode, type DTypeName, dtypeOfArray, type TypedArray } from "./dtype.ts";
import { Like, RandKind } from "./ops.ts";
import { handleOf, newTypedArray, type Tensor, wrap } from "./tensor.ts";

export interface TensorOptions {
  dtype?: DTypeName;
  device?: Device | string;
  requiresGrad?: boolean;
}

type Nested = number | boolean | bigint | Nested[];

/**
 * PyTorch's `*size` then options: `zeros(2, 3)`, `zeros([2, 3])`, either with
 * an options object last (`zeros(2, 3, { dtype: "int64" })`).
 */
export type SizeArgs<O = TensorOptions> =
  | [size: readonly number[], opts?: O]
  | number[]
  | [...size: number[], opts: O];

const TENSOR_KEYS = ["dtype", "device", "requiresGrad", "shape"] as const;
const SIG_TENSOR = "tensor(data, options)";

/** data[i][j] for the flat index `i` of a nested array of `shape` (for messages). */
function nestedIndex(flat: number, shape: number[]): string {
  let s = "";
  for (let d = shape.length - 1; d >= 0; d--) {
    s = `[${flat % shape[d]}]${s}`;
    flat = Math.floor(flat / shape[d]);
  }
  return `data${s}`;
}

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let d: Nested = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    if (d.length === 0) break;
    d = d[0];
  }
  return shape;
}

function flattenInto(data: Nested, shape: number[], depth: number, out: Nested[]): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) {
      throw new TypeError(`${SIG_TENSOR}: data is a ragged nested array: too deep`);
    }
    const t = typeof data;
    if (t !== "number" && t !== "boolean" && t !== "bigint") {
      throw A.typeError(
        SIG_TENSOR,
        nestedIndex(out.length, shape),
        "a number, a boolean or a bigint",
        data,
      );
    }
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TypeError(
      `${SIG_TENSOR}: data is a ragged nested array: expected ${
        shape[depth]
      } elements at depth ${depth}`,
    );
  }
  for (const v of data) flattenInto(v, shape, depth + 1, out);
}

/**
 * A tensor from nested arrays, a number, or a typed array (with `shape`, else 1-D).
 * Numbers default to float32 (JS does not tell 1 from 1.0), booleans to bool,
 * bigints to int64, typed arrays to their own dtype. Data is copied.
 */
export function tensor(
  data: Nested | TypedArray,
  opts: TensorOptions & { shape?: number[] } = {},
): Tensor {
  A.tensorOptions(SIG_TENSOR, opts, TENSOR_KEYS);
  if (opts.shape !== undefined) A.shape(SIG_TENSOR, "options.shape", opts.shape);
  let flat: TypedArray;
  let shape: number[];
  if (ArrayBuffer.isView(data)) {
    const src = A.typedArray(SIG_TENSOR, "data", data);
    shape = opts.shape ?? [src.length];
    if (shape.reduce((a, b) => a * b, 1) !== src.length) {
      throw new TypeError(
        `${SIG_TENSOR}: options.shape [${shape}] does not hold ${src.length} values`,
      );
    }
    const natural = dtypeOfArray(src);
    const want = opts.dtype ?? natural;
    if (src instanceof Uint16Array && opts.dtype === undefined) {
      throw new TypeError(
        `${SIG_TENSOR}: a Uint16Array holds float16 or bfloat16 bits: pass options.dtype`,
      );
    }
    if (want === natural || (src instanceof Uint16Array && want === "bfloat16")) {
      flat = src;
      return fromData(flat, shape, want, opts);
    }
    // Convert through the natural dtype on the C side.
    using t = fromData(src, shape, natural, { device: "cpu" });
    return t.to({ dtype: want, device: opts.device ?? "cpu" }).requiresGrad_(
      opts.requiresGrad ?? false,
    );
  }
  const kind = typeof data;
  if (!Array.isArray(data) && kind !== "number" && kind !== "boolean" && kind !== "bigint") {
    throw A.typeError(
      SIG_TENSOR,
      "data",
      "a number, a boolean, a bigint, a nested array of them or a typed array",
      data,
    );
  }
  const nested = data as Nested;
  const natural = inferShape(nested);
  const values: Nested[] = [];
  flattenInto(nested, natural, 0, values);
  shape = opts.shape ?? natural;
  if (shape.reduce((a, b) => a * b, 1) !== values.length) {
    throw new TypeError(
      `${SIG_TENSOR}: options.shape [${shape}] does not hold ${values.length} values`,
    );
  }
  const first = values[0];
  const dtype = opts.dtype ??
    (typeof first === "boolean" ? "bool" : typeof first === "bigint" ? "int64" : "float32");
  flat = newTypedArray(
    dtype === "float16" || dtype === "bfloat16" ? "float32" : dtype,
    values.length,
  );
  if (flat instanceof BigInt64Array) {
    for (let i = 0; i < values.length; i++) flat[i] = BigInt(values[i] as number);
  } else {
    for (let i = 0; i < values.length; i++) flat[i] = Number(values[i]);
  }
  if (dtype === "float16" || dtype === "bfloat16") {
    using t = fromData(flat, shape, "float32", { device: "cpu" });
    return t.to({ dtype, device: opts.device ?? "cpu" }).requiresGrad_(opts.requiresGrad ?? false);
  }
  return fromData(flat, shape, dtype, opts);
}

/** A tensor from raw little-endian bytes of `dtype` (any dtype, float16/bfloat16 included). */
export function fromBytes(
  bytes: Uint8Array,
  shape: number[],
  dtype: DTypeName,
  opts: TensorOptions = {},
): Tensor {
  return fromData(bytes, shape, dtype, opts);
}

function fromData(
  flat: TypedArray,
  shape: number[],
  dtype: DTypeName,
  opts: TensorOptions,
): Tensor {
  const bytes = new Uint8Array(flat.buffer, flat.byteOffset, flat.byteLength);
  return wrap(
    "tt_from_data",
    lib.tt_from_data(
      bytes,
      bytes.byteLength,
      ints(shape),
      shape.length,
      dtypeCode(dtype),
      deviceCode(opts.device ?? "cpu"),
      opts.requiresGrad ? 1 : 0,
      OUT,
    ),
  );
}

function dev(opts: TensorOptions): number {
  return deviceCode(opts.device ?? "cpu");
}

/** `t.requiresGrad_()` when the options ask for it. */
function withGrad(t: Tensor, opts: TensorOptions | undefined): Tensor {
  return opts?.requiresGrad ? t.requiresGrad_() : t;
}

function fillTensor(shape: readonly number[], value: number, opts: TensorOptions): Tensor {
  return wrap(
    "tt_full",
    lib.tt_full(
      ints(shape),
      shape.length,
      value,
      dtypeCode(opts.dtype ?? "float32"),
      dev(opts),
      opts.requiresGrad ? 1 : 0,
      OUT,
    ),
  );
}

function emptyTensor(shape: readonly number[], opts: TensorOptions): Tensor {
  return withGrad(
    wrap(
      "tt_empty",
      lib.tt_empty(ints(shape), shape.length, dtypeCode(opts.dtype ?? "float32"), dev(opts), OUT),
    ),
    opts,
  );
}

function randTensor(
  kind: typeof RandKind.uniform | typeof RandKind.normal,
  shape: readonly number[],
  opts: TensorOptions,
): Tensor {
  return withGrad(
    wrap(
      "tt_rand",
      lib.tt_rand(
        kind,
        ints(shape),
        shape.length,
        dtypeCode(opts.dtype ?? "float32"),
        dev(opts),
        OUT,
      ),
    ),
    opts,
  );
}

const SIG_FULL = "full(size, fillValue, options)";

/** PyTorch's `full(size, fill_value)`: `size` an array; float32 unless a dtype is given. */
export function full(size: readonly number[], fillValue: number, opts: TensorOptions = {}): Tensor {
  A.shape(SIG_FULL, "size", size);
  A.num(SIG_FULL, "fillValue", fillValue);
  A.tensorOptions(SIG_FULL, opts);
  return fillTensor(size, fillValue, opts);
}

const SIG_ZEROS = "zeros(...size, options)";

/** `zeros(2, 3)` or `zeros([2, 3])`, options last. */
export function zeros(...args: SizeArgs): Tensor {
  const [size, opts] = A.sizeArgs(SIG_ZEROS, args);
  return fillTensor(size, 0, A.tensorOptions(SIG_ZEROS, opts) ?? {});
}

const SIG_ONES = "ones(...size, options)";

/** `ones(2, 3)` or `ones([2, 3])`, options last. */
export function ones(...args: SizeArgs): Tensor {
  const [size, opts] = A.sizeArgs(SIG_ONES, args);
  return fillTensor(size, 1, A.tensorOptions(SIG_ONES, opts) ?? {});
}

const SIG_EMPTY = "empty(...size, options)";

/** Uninitialised memory: `empty(2, 3)` or `empty([2, 3])`, options last. */
export function empty(...args: SizeArgs): Tensor {
  const [size, opts] = A.sizeArgs(SIG_EMPTY, args);
  return emptyTensor(size, A.tensorOptions(SIG_EMPTY, opts) ?? {});
}

const SIG_RAND = "rand(...size, options)";

/** Uniform on [0, 1), from libtorch's default generator (see manualSeed): `rand(2, 3)` or `rand([2, 3])`. */
export function rand(...args: SizeArgs): Tensor {
  const [size, opts] = A.sizeArgs(SIG_RAND, args);
  return randTensor(RandKind.uniform, size, A.tensorOptions(SIG_RAND, opts) ?? {});
}

const SIG_RANDN = "randn(...size, options)";

/** Standard normal: `randn(2, 3)` or `randn([2, 3])`. */
export function randn(...args: SizeArgs): Tensor {
  const [size, opts] = A.sizeArgs(SIG_RANDN, args);
  return randTensor(RandKind.normal, size, A.tensorOptions(SIG_RANDN, opts) ?? {});
}

const SIG_RANDINT = "randint(low, high, size, options)";

/**
 * Integers uniform on [low, high) (int64 unless a dtype is given), as PyTorch
 * takes them: `randint(high, size)` or `randint(low, high, size)`, options last.
 */
export function randint(high: number, size: readonly number[], opts?: TensorOptions): Tensor;
export function randint(
  low: number,
  high: number,
  size: readonly number[],
  opts?: TensorOptions,
): Tensor;
export function randint(a: unknown, b: unknown, c?: unknown, d?: unknown): Tensor {
  let low = a, high = b, size = c, opts = d;
  if (Array.isArray(b)) {
    if (d !== undefined) throw A.typeError(SIG_RANDINT, "the argument after options", "absent", d);
    [low, high, size, opts] = [0, a, b, c];
  }
  A.int(SIG_RANDINT, "low", low);
  A.int(SIG_RANDINT, "high", high);
  A.shape(SIG_RANDINT, "size", size);
  const o: TensorOptions = A.tensorOptions(SIG_RANDINT, opts) ?? {};
  const shape = size as number[];
  return withGrad(
    wrap(
      "tt_randint",
      lib.tt_randint(
        low as number,
        high as number,
        ints(shape),
        shape.length,
        dtypeCode(o.dtype ?? "int64"),
        dev(o),
        OUT,
      ),
    ),
    o,
  );
}

const SIG_RANDPERM = "randperm(n, options)";

/** A random permutation of 0..n-1 (int64 unless a dtype is given). */
export function randperm(n: number, opts: TensorOptions = {}): Tensor {
  A.nonNegInt(SIG_RANDPERM, "n", n);
  A.tensorOptions(SIG_RANDPERM, opts);
  const t = wrap("tt_randperm", lib.tt_randperm(n, dev(opts), OUT));
  if (opts.dtype === undefined || opts.dtype === "int64") return withGrad(t, opts);
  using perm = t;
  return withGrad(perm.to({ dtype: opts.dtype }), opts);
}

const SIG_ARANGE = "arange(start, end, step, options)";

/**
 * As PyTorch takes it: `arange(end)`, `arange(start, end)` or
 * `arange(start, end, step)`, each with an options object last
 * (`arange(6, { dtype: "float32" })`); int64 when every bound is an integer
 * and no dtype is given, else float32.
 */
export function arange(end: number, opts?: TensorOptions): Tensor;
export function arange(start: number, end: number | undefined, opts?: TensorOptions): Tensor;
export function arange(
  start: number,
  end: number | undefined,
  step: number | undefined,
  opts?: TensorOptions,
): Tensor;
export function arange(a: unknown, b?: unknown, c?: unknown, d?: unknown): Tensor {
  let opts = d;
  if (A.isOptions(b) || A.isOptions(c)) {
    const at = A.isOptions(b) ? 1 : 2;
    const after = at === 1 ? (c !== undefined ? c : d) : d;
    if (after !== undefined) {
      throw A.typeError(SIG_ARANGE, "the argument after options", "absent", after);
    }
    opts = at === 1 ? b : c;
    if (at === 1) b = undefined;
    c = undefined;
  }
  let s = 0, e: number;
  if (b === undefined) e = A.finite(SIG_ARANGE, "end", a);
  else {
    s = A.finite(SIG_ARANGE, "start", a);
    e = A.finite(SIG_ARANGE, "end", b);
  }
  const step = c === undefined ? 1 : A.finite(SIG_ARANGE, "step", c);
  const o: TensorOptions = A.tensorOptions(SIG_ARANGE, opts) ?? {};
  const integral = Number.isInteger(s) && Number.isInteger(e) && Number.isInteger(step);
  return withGrad(
    wrap(
      "tt_arange",
      lib.tt_arange(
        s,
        e,
        step,
        dtypeCode(o.dtype ?? (integral ? "int64" : "float32")),
        dev(o),
        OUT,
      ),
    ),
    o,
  );
}

function like(kind: number, a: Tensor, value = 0): Tensor {
  return wrap("tt_like", lib.tt_like(kind, handleOf(a), value, OUT));
}

/**
 * Checks a `*Like(input, options)` call. Returns the options to make the
 * tensor with when they ask for another dtype or device (PyTorch's
 * `zeros_like(x, dtype=...)`), else null: then `like()` copies input's.
 */
function likeOptions(sig: string, input: unknown, opts: unknown): TensorOptions | null {
  const a = A.tensor(sig, "input", input);
  const o = A.tensorOptions(sig, opts) as TensorOptions | undefined;
  if (o === undefined || (o.dtype === undefined && o.device === undefined)) return null;
  return {
    dtype: o.dtype ?? a.dtype,
    device: o.device ?? a.device,
    requiresGrad: o.requiresGrad,
  };
}

/** Zeros of input's shape, dtype and device (the options may change dtype and device). */
export function zerosLike(input: Tensor, opts?: TensorOptions): Tensor {
  const o = likeOptions("zerosLike(input, options)", input, opts);
  return o ? fillTensor(input.shape, 0, o) : withGrad(like(Like.zeros, input), opts);
}

export function onesLike(input: Tensor, opts?: TensorOptions): Tensor {
  const o = likeOptions("onesLike(input, options)", input, opts);
  return o ? fillTensor(input.shape, 1, o) : withGrad(like(Like.ones, input), opts);
}

const SIG_FULL_LIKE = "fullLike(input, fillValue, options)";

export function fullLike(input: Tensor, fillValue: number, opts?: TensorOptions): Tensor {
  A.tensor(SIG_FULL_LIKE, "input", input);
  A.num(SIG_FULL_LIKE, "fillValue", fillValue);
  const o = likeOptions(SIG_FULL_LIKE, input, opts);
  return o
    ? fillTensor(input.shape, fillValue, o)
    : withGrad(like(Like.full, input, fillValue), opts);
}

export function emptyLike(input: Tensor, opts?: TensorOptions): Tensor {
  const o = likeOptions("emptyLike(input, options)", input, opts);
  return o ? emptyTensor(input.shape, o) : withGrad(like(Like.empty, input), opts);
}

export function randLike(input: Tensor, opts?: TensorOptions): Tensor {
  const o = likeOptions("randLike(input, options)", input, opts);
  return o ? randTensor(RandKind.uniform, input.shape, o) : withGrad(like(Like.rand, input), opts);
}

export function randnLike(input: Tensor, opts?: TensorOptions): Tensor {
  const o = likeOptions("randnLike(input, options)", input, opts);
  return o ? randTensor(RandKind.normal, input.shape, o) : withGrad(like(Like.randn, input), opts);
}

/** `dim` or `{ dim }` (PyTorch's `cat(tensors, dim=1)`). */
function dimArg(sig: string, dim: unknown): number {
  if (A.isOptions(dim)) {
    A.options(sig, dim, ["dim"]);
    return dim.dim === undefined ? 0 : A.int(sig, "options.dim", dim.dim);
  }
  return A.int(sig, "dim", dim);
}

const SIG_CAT = "cat(tensors, dim)";

/** Joins along an existing dim: `cat([a, b], 1)` or `cat([a, b], { dim: 1 })`. */
export function cat(tensors: readonly Tensor[], dim: number | { dim?: number } = 0): Tensor {
  A.tensorList(SIG_CAT, "tensors", tensors);
  const d = dimArg(SIG_CAT, dim);
  return wrap(
    "tt_cat",
    lib.tt_cat(handleArray(tensors.map((t) => handleOf(t))), tensors.length, d, OUT),
  );
}

const SIG_STACK = "stack(tensors, dim)";

/** Joins along a new dim: `stack([a, b], 1)` or `stack([a, b], { dim: 1 })`. */
export function stack(tensors: readonly Tensor[], dim: number | { dim?: number } = 0): Tensor {
  A.tensorList(SIG_STACK, "tensors", tensors);
  const d = dimArg(SIG_STACK, dim);
  return wrap(
    "tt_stack",
    lib.tt_stack(handleArray(tensors.map((t) => handleOf(t))), tensors.length, d, OUT),
  );
}

const SIG_WHERE = "where(condition, input, other)";

/** Elementwise `condition ? input : other`. */
export function where(condition: Tensor, input: Tensor, other: Tensor): Tensor {
  A.tensor(SIG_WHERE, "condition", condition);
  A.tensor(SIG_WHERE, "input", input);
  A.tensor(SIG_WHERE, "other", other);
  return wrap("tt_where", lib.tt_where(handleOf(condition), handleOf(input), handleOf(other), OUT));
}

export { check };
