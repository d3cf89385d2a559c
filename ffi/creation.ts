// Creating tensors: from JS data, filled, random, ranges, joins.
import { lib } from "./library.ts";
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
    if (Array.isArray(data)) throw new TypeError("ragged nested array: too deep");
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TypeError(
      `ragged nested array: expected ${shape[depth]} elements at depth ${depth}`,
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
  let flat: TypedArray;
  let shape: number[];
  if (ArrayBuffer.isView(data)) {
    const src = data as TypedArray;
    shape = opts.shape ?? [src.length];
    const natural = dtypeOfArray(src);
    const want = opts.dtype ?? natural;
    if (src instanceof Uint16Array && opts.dtype === undefined) {
      throw new TypeError("a Uint16Array holds float16 or bfloat16 bits: pass dtype");
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
  const nested = data as Nested;
  const natural = inferShape(nested);
  const values: Nested[] = [];
  flattenInto(nested, natural, 0, values);
  shape = opts.shape ?? natural;
  if (shape.reduce((a, b) => a * b, 1) !== values.length) {
    throw new TypeError(`shape [${shape}] does not hold ${values.length} values`);
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

export function full(shape: number[], value: number, opts: TensorOptions = {}): Tensor {
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

export function zeros(shape: number[], opts: TensorOptions = {}): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: number[], opts: TensorOptions = {}): Tensor {
  return full(shape, 1, opts);
}

export function empty(shape: number[], opts: TensorOptions = {}): Tensor {
  return wrap(
    "tt_empty",
    lib.tt_empty(ints(shape), shape.length, dtypeCode(opts.dtype ?? "float32"), dev(opts), OUT),
  );
}

/** Uniform on [0, 1), from libtorch's default generator (see manualSeed). */
export function rand(shape: number[], opts: TensorOptions = {}): Tensor {
  const t = wrap(
    "tt_rand",
    lib.tt_rand(
      RandKind.uniform,
      ints(shape),
      shape.length,
      dtypeCode(opts.dtype ?? "float32"),
      dev(opts),
      OUT,
    ),
  );
  return opts.requiresGrad ? t.requiresGrad_() : t;
}

/** Standard normal. */
export function randn(shape: number[], opts: TensorOptions = {}): Tensor {
  const t = wrap(
    "tt_rand",
    lib.tt_rand(
      RandKind.normal,
      ints(shape),
      shape.length,
      dtypeCode(opts.dtype ?? "float32"),
      dev(opts),
      OUT,
    ),
  );
  return opts.requiresGrad ? t.requiresGrad_() : t;
}

/** Integers uniform on [low, high). */
export function randint(
  low: number,
  high: number,
  shape: number[],
  opts: TensorOptions = {},
): Tensor {
  return wrap(
    "tt_randint",
    lib.tt_randint(
      low,
      high,
      ints(shape),
      shape.length,
      dtypeCode(opts.dtype ?? "int64"),
      dev(opts),
      OUT,
    ),
  );
}

/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, opts: { device?: Device | string } = {}): Tensor {
  return wrap("tt_randperm", lib.tt_randperm(n, deviceCode(opts.device ?? "cpu"), OUT));
}

/** `arange(end)` or `arange(start, end, step)`; int64 unless a dtype is given. */
export function arange(
  startOrEnd: number,
  end?: number,
  step = 1,
  opts: TensorOptions = {},
): Tensor {
  const [s, e] = end === undefined ? [0, startOrEnd] : [startOrEnd, end];
  const integral = Number.isInteger(s) && Number.isInteger(e) && Number.isInteger(step);
  return wrap(
    "tt_arange",
    lib.tt_arange(
      s,
      e,
      step,
      dtypeCode(opts.dtype ?? (integral ? "int64" : "float32")),
      dev(opts),
      OUT,
    ),
  );
}

function like(kind: number, a: Tensor, value = 0): Tensor {
  return wrap("tt_like", lib.tt_like(kind, handleOf(a), value, OUT));
}

export const zerosLike = (a: Tensor): Tensor => like(Like.zeros, a);
export const onesLike = (a: Tensor): Tensor => like(Like.ones, a);
export const fullLike = (a: Tensor, value: number): Tensor => like(Like.full, a, value);
export const emptyLike = (a: Tensor): Tensor => like(Like.empty, a);
export const randLike = (a: Tensor): Tensor => like(Like.rand, a);
export const randnLike = (a: Tensor): Tensor => like(Like.randn, a);

export function cat(tensors: Tensor[], dim = 0): Tensor {
  return wrap(
    "tt_cat",
    lib.tt_cat(handleArray(tensors.map((t) => handleOf(t))), tensors.length, dim, OUT),
  );
}

export function stack(tensors: Tensor[], dim = 0): Tensor {
  return wrap(
    "tt_stack",
    lib.tt_stack(handleArray(tensors.map((t) => handleOf(t))), tensors.length, dim, OUT),
  );
}

/** Elementwise `cond ? a : b`. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  return wrap("tt_where", lib.tt_where(handleOf(cond), handleOf(a), handleOf(b), OUT));
}

export { check };
