// Argument checks for the public API. `deno run` does not type-check, so every
// public function checks what it is given before a value reaches a lib.tt_*
// call, and a wrong value fails with one line in PyTorch's manner, naming the
// function with its parameters (`sig`), the argument, what it must be and
// what it got:
//
//   arange(start, end, step, options): end must be a number, got "6"
//
// A wrong type is a TypeError, a number out of range a RangeError, a disposed
// tensor a TorchError. Each check is a few comparisons on the success path;
// messages are built only when a check fails.
import { DType, type DTypeName, type TypedArray } from "./dtype.ts";
import { TorchError } from "./error.ts";
import { isTensorObject, setArgDescriber } from "./memory.ts";
import type { Tensor } from "./tensor.ts";

// The Tensor class's brand check, through memory.ts (tensor.ts imports this module).
const isTensor = (v: unknown): v is Tensor => isTensorObject(v);

/** Options as the checks see them. */
export type Opts = Record<string, unknown>;

// ---- describing what was given ----

/** A short, one-line picture of `v` for a message: `"6"`, `NaN`, `[2, "3"]`, `{ dtype: "f32" }`. */
export function show(v: unknown, depth = 0): string {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    case "number":
      return Object.is(v, -0) ? "-0" : String(v);
    case "bigint":
      return `${v}n`;
    case "function":
      return v.name ? `a function (${v.name})` : "a function";
    case "symbol":
    case "undefined":
    case "boolean":
      return String(v);
  }
  if (v === null) return "null";
  if (isTensor(v)) return v.isDisposed ? "a disposed Tensor" : `a ${v}`;
  if (Array.isArray(v)) {
    if (depth > 1) return v.length === 0 ? "[]" : "[...]";
    const items = v.slice(0, 6).map((x) => show(x, depth + 1));
    return `[${items.join(", ")}${v.length > 6 ? `, ... (${v.length} items)` : ""}]`;
  }
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) {
    const name = (proto.constructor as { name?: string } | undefined)?.name;
    return name ? `a ${name}` : "an object";
  }
  const keys = Object.keys(v as object);
  if (keys.length === 0) return "{}";
  if (depth > 1) return "{...}";
  const items = keys.slice(0, 6).map((k) => `${k}: ${show((v as Opts)[k], depth + 1)}`);
  return `{ ${items.join(", ")}${keys.length > 6 ? ", ..." : ""} }`;
}

// tidy() and keep() (ffi/memory.ts) name a wrong argument the same way.
setArgDescriber((v) => show(v));

/** `sig: arg must be must, got <v>` as a TypeError. */
export function typeError(sig: string, arg: string, must: string, got: unknown): TypeError {
  return new TypeError(`${sig}: ${arg} must be ${must}, got ${show(got)}`);
}

/** `sig: arg must be must, got <v>` as a RangeError. */
export function rangeError(sig: string, arg: string, must: string, got: unknown): RangeError {
  return new RangeError(`${sig}: ${arg} must be ${must}, got ${show(got)}`);
}

// ---- numbers and flags ----

/** Any number (NaN and infinities included: fill values, scalars). */
export function num(sig: string, arg: string, v: unknown): number {
  if (typeof v !== "number") throw typeError(sig, arg, "a number", v);
  return v;
}

export function optNum(sig: string, arg: string, v: unknown): number | undefined {
  if (v !== undefined && typeof v !== "number") throw typeError(sig, arg, "a number", v);
  return v;
}

/** A finite number. */
export function finite(sig: string, arg: string, v: unknown): number {
  if (typeof v !== "number") throw typeError(sig, arg, "a number", v);
  if (!Number.isFinite(v)) throw rangeError(sig, arg, "a finite number", v);
  return v;
}

export function optFinite(sig: string, arg: string, v: unknown): number | undefined {
  return v === undefined ? v : finite(sig, arg, v);
}

/** A finite number >= 0 (learning rates, decays, momenta, eps). */
export function nonNegative(sig: string, arg: string, v: unknown): number {
  if (typeof v !== "number") throw typeError(sig, arg, "a number", v);
  if (!(Number.isFinite(v) && v >= 0)) throw rangeError(sig, arg, "a finite number >= 0", v);
  return v;
}

function intError(sig: string, arg: string, v: unknown, must: string): Error {
  return Number.isInteger(v)
    ? rangeError(sig, arg, `${must} of at most 2^53 in size`, v)
    : typeError(sig, arg, must, v);
}

/** An integer (a dim, an index, a count): a safe integer, not NaN, not 2.5, not "3". */
export function int(sig: string, arg: string, v: unknown): number {
  if (!Number.isSafeInteger(v)) throw intError(sig, arg, v, "an integer");
  return v as number;
}

export function optInt(sig: string, arg: string, v: unknown): number | undefined {
  if (v !== undefined && !Number.isSafeInteger(v)) throw intError(sig, arg, v, "an integer");
  return v as number | undefined;
}

/** An integer >= 0 (a size). */
export function nonNegInt(sig: string, arg: string, v: unknown): number {
  if (!Number.isSafeInteger(v)) throw intError(sig, arg, v, "a non-negative integer");
  if ((v as number) < 0) throw rangeError(sig, arg, "a non-negative integer", v);
  return v as number;
}

/** An integer >= 1 (a thread count, a split size). */
export function posInt(sig: string, arg: string, v: unknown): number {
  if (!Number.isSafeInteger(v)) throw intError(sig, arg, v, "a positive integer");
  if ((v as number) < 1) throw rangeError(sig, arg, "a positive integer", v);
  return v as number;
}

/**
 * A seed as torch.manual_seed takes it: an integer (a safe one, or a bigint)
 * in [-2^63, 2^64); negative ones wrap to uint64 as PyTorch's do.
 */
export function seed64(sig: string, arg: string, v: unknown): bigint {
  let b: bigint;
  if (typeof v === "bigint") b = v;
  else if (Number.isSafeInteger(v)) b = BigInt(v as number);
  else throw intError(sig, arg, v, "an integer (a safe integer or a bigint)");
  if (b < -(1n << 63n) || b >= 1n << 64n) throw rangeError(sig, arg, "in [-2^63, 2^64)", v);
  return BigInt.asUintN(64, b);
}

export function bool(sig: string, arg: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw typeError(sig, arg, "a boolean (true or false)", v);
  return v;
}

export function optBool(sig: string, arg: string, v: unknown): boolean | undefined {
  if (v !== undefined && typeof v !== "boolean") {
    throw typeError(sig, arg, "a boolean (true or false)", v);
  }
  return v;
}

/** One of a set of names (a mode, a reduction). */
export function oneOf<T extends string>(
  sig: string,
  arg: string,
  v: unknown,
  choices: readonly T[],
): T {
  if (typeof v !== "string" || !choices.includes(v as T)) {
    throw typeError(sig, arg, `one of ${choices.map((c) => `"${c}"`).join(", ")}`, v);
  }
  return v as T;
}

export function optOneOf<T extends string>(
  sig: string,
  arg: string,
  v: unknown,
  choices: readonly T[],
): T | undefined {
  return v === undefined ? v : oneOf(sig, arg, v, choices);
}

/**
 * A name of a code table such as functional.ts' `{ bilinear: 0, nearest: 1 }`
 * (its keys with number values), or undefined.
 */
export function optKey<T extends object>(
  sig: string,
  arg: string,
  v: unknown,
  table: T,
): keyof T | undefined {
  if (
    v === undefined ||
    (typeof v === "string" && Object.hasOwn(table, v) && typeof (table as Opts)[v] === "number")
  ) {
    return v as keyof T | undefined;
  }
  const names = Object.keys(table).filter((k) => typeof (table as Opts)[k] === "number");
  throw typeError(sig, arg, `one of ${names.map((c) => `"${c}"`).join(", ")}`, v);
}

export const MEMORY_FORMATS = ["contiguous", "channelsLast"] as const;

const TO_KEYS = ["dtype", "device", "copy"] as const;

/** Tensor.to's argument: a device, a dtype name, or {dtype, device, copy}. */
export function toArgs(sig: string, v: unknown): void {
  if (typeof v === "string") {
    if (v === "cpu" || v === "cuda" || CUDA_N.test(v) || Object.hasOwn(DType, v)) return;
    throw typeError(
      sig,
      "options",
      `a device ("cpu", "cuda", "cuda:N"), a dtype name (${Object.keys(DType).join(", ")}) ` +
        "or {dtype, device, copy}",
      v,
    );
  }
  const o = options(sig, v, TO_KEYS);
  if (o === undefined) throw typeError(sig, "options", "a device, a dtype or {dtype, device}", v);
  optDtype(sig, "options.dtype", o.dtype);
  optDevice(sig, "options.device", o.device);
  optBool(sig, "options.copy", o.copy);
}

export function func(sig: string, arg: string, v: unknown): void {
  if (typeof v !== "function") throw typeError(sig, arg, "a function", v);
}

// ---- dtypes and devices ----

/** PyTorch's other names for dtypes, for the hint in a message. */
const DTYPE_ALIASES: Record<string, DTypeName> = {
  float: "float32",
  double: "float64",
  half: "float16",
  long: "int64",
  int: "int32",
  short: "int16",
  byte: "uint8",
  char: "int8",
  bf16: "bfloat16",
  fp16: "float16",
  f32: "float32",
  f64: "float64",
  i64: "int64",
  i32: "int32",
  u8: "uint8",
  boolean: "bool",
};

export function dtype(sig: string, arg: string, v: unknown): DTypeName {
  if (typeof v === "string" && Object.hasOwn(DType, v)) return v as DTypeName;
  const key = typeof v === "string" ? v.replace(/^torch\./, "") : "";
  const alias = Object.hasOwn(DType, key) ? key : DTYPE_ALIASES[key];
  const hint = alias === undefined ? "" : ` (PyTorch's torch.${key} is "${alias}")`;
  throw new TypeError(
    `${sig}: ${arg} must be a dtype name (${Object.keys(DType).join(", ")}), ` +
      `got ${show(v)}${hint}`,
  );
}

export function optDtype(sig: string, arg: string, v: unknown): DTypeName | undefined {
  return v === undefined ? v : dtype(sig, arg, v);
}

const CUDA_N = /^cuda:\d+$/;

export function device(sig: string, arg: string, v: unknown): string {
  if (v === "cpu" || v === "cuda" || (typeof v === "string" && CUDA_N.test(v))) return v;
  throw typeError(sig, arg, `"cpu", "cuda" or "cuda:N"`, v);
}

export function optDevice(sig: string, arg: string, v: unknown): string | undefined {
  return v === undefined ? v : device(sig, arg, v);
}

// ---- shapes, dims, pairs ----

function elementError(sig: string, arg: string, i: number, v: unknown, must: string): Error {
  const name = `${arg}[${i}]`;
  return Number.isSafeInteger(v) ? rangeError(sig, name, must, v) : intError(sig, name, v, must);
}

/** A shape: an array of non-negative integers. */
export function shape(sig: string, arg: string, v: unknown): number[] {
  if (!Array.isArray(v)) {
    throw typeError(sig, arg, "an array of sizes (non-negative integers)", v);
  }
  for (let i = 0; i < v.length; i++) {
    const s = v[i];
    if (!Number.isSafeInteger(s) || s < 0) {
      throw elementError(sig, arg, i, s, "a non-negative integer");
    }
  }
  return v;
}

/** An array of integers (dims, a view's shape with -1, pads). */
export function intList(sig: string, arg: string, v: unknown): number[] {
  if (!Array.isArray(v)) throw typeError(sig, arg, "an array of integers", v);
  for (let i = 0; i < v.length; i++) {
    if (!Number.isSafeInteger(v[i])) throw elementError(sig, arg, i, v[i], "an integer");
  }
  return v;
}

/** `f(2, 3)` or `f([2, 3])` (PyTorch's `*shape` / `*dims`): the integers, checked. */
export function intArgs(sig: string, arg: string, args: readonly unknown[]): number[] {
  const list = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
  for (let i = 0; i < list.length; i++) {
    if (!Number.isSafeInteger(list[i])) {
      throw list === args && args.length === 1
        ? intError(sig, arg, list[i], "integers or one array of integers")
        : elementError(sig, arg, i, list[i], "an integer");
    }
  }
  return list as number[];
}

/** A dim, a list of dims, or undefined (every dim). */
export function dims(sig: string, arg: string, v: unknown): number | number[] | undefined {
  if (v === undefined || Number.isSafeInteger(v)) return v as number | undefined;
  if (Array.isArray(v)) return intList(sig, arg, v);
  throw typeError(sig, arg, "an integer or an array of integers", v);
}

/** An integer or a pair [h, w] of integers (kernel sizes, strides, paddings). */
export function pair(sig: string, arg: string, v: unknown): number | [number, number] {
  if (Number.isSafeInteger(v)) return v as number;
  if (
    Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) &&
    Number.isSafeInteger(v[1])
  ) {
    return v as [number, number];
  }
  throw typeError(sig, arg, "an integer or a pair [h, w] of integers", v);
}

export function optPair(
  sig: string,
  arg: string,
  v: unknown,
): number | [number, number] | undefined {
  return v === undefined ? v : pair(sig, arg, v);
}

// ---- tensors ----

function disposedError(sig: string, arg: string): TorchError {
  return new TorchError(
    sig,
    `${arg} was disposed and cannot be used; keep it (keep(t)) or return it from tidy()`,
  );
}

/** A live Tensor (Tensor's private-field brand, not duck typing). */
export function tensor(sig: string, arg: string, v: unknown): Tensor {
  if (!isTensor(v)) throw typeError(sig, arg, "a Tensor", v);
  if (v.isDisposed) throw disposedError(sig, arg);
  return v;
}

/** A live Tensor, or null / undefined. */
export function optTensor(sig: string, arg: string, v: unknown): Tensor | null | undefined {
  if (v === null || v === undefined) return v;
  if (!isTensor(v)) throw typeError(sig, arg, "a Tensor or null", v);
  if (v.isDisposed) throw disposedError(sig, arg);
  return v;
}

/** A live Tensor or a number (the other operand of arithmetic). */
export function tensorOrNum(sig: string, arg: string, v: unknown): Tensor | number {
  if (typeof v === "number") return v;
  if (!isTensor(v)) throw typeError(sig, arg, "a Tensor or a number", v);
  if (v.isDisposed) throw disposedError(sig, arg);
  return v;
}

/** An array of live Tensors. */
export function tensorList(sig: string, arg: string, v: unknown): Tensor[] {
  if (!Array.isArray(v)) throw typeError(sig, arg, "an array of Tensors", v);
  for (let i = 0; i < v.length; i++) {
    const t = v[i];
    if (!isTensor(t)) throw typeError(sig, `${arg}[${i}]`, "a Tensor", t);
    if (t.isDisposed) throw disposedError(sig, `${arg}[${i}]`);
  }
  return v;
}

const TYPED_ARRAYS = [
  Float32Array,
  Float64Array,
  Int8Array,
  Int16Array,
  Int32Array,
  BigInt64Array,
  Uint8Array,
  Uint16Array,
] as const;

/** A typed array of a kind tensors are made from. */
export function typedArray(sig: string, arg: string, v: unknown): TypedArray {
  for (const C of TYPED_ARRAYS) if (v instanceof C) return v;
  throw typeError(
    sig,
    arg,
    `a typed array of a tensor dtype (${TYPED_ARRAYS.map((c) => c.name).join(", ")})`,
    v,
  );
}

// ---- options objects ----

/** True for what may be an options object: a plain object (not an array, tensor or typed array). */
export function isOptions(v: unknown): v is Opts {
  if (typeof v !== "object" || v === null) return false;
  // An object literal's (or a null-prototype object's); arrays, tensors, Maps
  // and other class instances have their own. Cheaper than getPrototypeOf.
  const c = (v as { constructor?: unknown }).constructor;
  return c === Object || c === undefined;
}

/** Other libraries' names for options, for the hint in a message. */
const KEY_ALIASES: Record<string, string> = { axis: "dim", axes: "dim", keepdims: "keepdim" };

function canonical(k: string): string {
  return k.toLowerCase().replace(/_/g, "");
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** The known key a mistyped one most likely meant: requires_grad -> requiresGrad, dtyp -> dtype. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  const alias = KEY_ALIASES[key];
  if (alias !== undefined && known.includes(alias)) return alias;
  const c = canonical(key);
  const same = known.find((k) => canonical(k) === c);
  if (same !== undefined) return same;
  let best: string | undefined;
  let bestD = c.length <= 4 ? 1 : 2;
  for (const k of known) {
    const d = editDistance(c, canonical(k));
    if (d <= bestD) [best, bestD] = [k, d - 1];
  }
  return best;
}

/**
 * An options object (or undefined) whose keys are all in `known`. An unknown
 * key is an error naming the known ones, with the likely one for PyTorch's
 * spellings (`requires_grad`: `requiresGrad`).
 */
export function options(
  sig: string,
  v: unknown,
  known: readonly string[],
  arg = "options",
): Opts | undefined {
  if (v === undefined) return undefined;
  if (!isOptions(v)) throw typeError(sig, arg, `an options object {${known.join(", ")}}`, v);
  for (const k in v) {
    if (!known.includes(k)) {
      const hint = suggestKey(k, known);
      throw new TypeError(
        `${sig}: ${arg} has an unknown key ${JSON.stringify(k)}` +
          (hint === undefined ? "" : ` (did you mean "${hint}"?)`) +
          `; the known keys are ${known.join(", ")}`,
      );
    }
  }
  return v;
}

export const TENSOR_OPTIONS = ["dtype", "device", "requiresGrad"] as const;

/** Creation options: {dtype, device, requiresGrad} (plus `extra` keys the caller checks). */
export function tensorOptions(
  sig: string,
  v: unknown,
  known: readonly string[] = TENSOR_OPTIONS,
): Opts | undefined {
  const o = options(sig, v, known);
  if (o === undefined) return o;
  if (o.dtype !== undefined) dtype(sig, "options.dtype", o.dtype);
  if (o.device !== undefined) device(sig, "options.device", o.device);
  if (o.requiresGrad !== undefined) bool(sig, "options.requiresGrad", o.requiresGrad);
  return o;
}

// ---- PyTorch's argument positions ----

/**
 * PyTorch's `*size` followed by options: `f(2, 3)`, `f([2, 3])`, each with an
 * options object last. Returns the checked sizes and the (unchecked) options.
 */
export function sizeArgs(sig: string, args: readonly unknown[]): [number[], unknown] {
  let n = args.length;
  while (n > 0 && args[n - 1] === undefined) n--;
  let opts: unknown = undefined;
  if (n > 0 && isOptions(args[n - 1])) opts = args[--n];
  if (n === 0) {
    const name = sig.slice(0, sig.indexOf("("));
    throw new TypeError(
      `${sig}: size is missing; pass the sizes as integers or one array: ` +
        `${name}(2, 3) or ${name}([2, 3])${args.length > 0 ? `, got ${show(args[0])}` : ""}`,
    );
  }
  const first = args[0];
  if (Array.isArray(first)) {
    if (n > 1) {
      throw typeError(sig, "the argument after the size array", "an options object", args[1]);
    }
    return [shape(sig, "size", first), opts];
  }
  const size = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const s = args[i];
    if (!Number.isSafeInteger(s) || (s as number) < 0) {
      throw n === 1 && !Number.isSafeInteger(s)
        ? typeError(sig, "size", "integers or one array of non-negative integers", s)
        : elementError(sig, "size", i, s, "a non-negative integer");
    }
    size[i] = s as number;
  }
  return [size, opts];
}

export const REDUCE_OPTIONS = ["dim", "keepdim"] as const;

const NO_OPTIONS: Opts = Object.freeze({});

/**
 * A reduction's arguments as PyTorch takes them: `(options)`, `(dim)`,
 * `(dim, keepdim)` or `(dim, options)`, `dim` an integer (or a list unless
 * `single`). `flag` names the option a boolean second argument sets (sort's
 * `descending`, topk's `largest`). Returns the options with `dim` in them,
 * allocating only for the positional forms.
 */
export function reduceArgs(
  sig: string,
  a: unknown,
  b: unknown,
  known: readonly string[] = REDUCE_OPTIONS,
  flag = "keepdim",
  single = false,
): Opts {
  if (a === undefined && b === undefined) return NO_OPTIONS;
  if (typeof a === "number" || Array.isArray(a)) {
    if (single) int(sig, "dim", a);
    else dims(sig, "dim", a);
    if (typeof b === "boolean") return { dim: a, [flag]: b };
    const o = options(sig, b, known);
    if (o === undefined) return { dim: a };
    if (o.dim !== undefined) throw typeError(sig, "options.dim", "absent when dim is given", o.dim);
    checkReduceOptions(sig, o);
    return { ...o, dim: a };
  }
  if (!isOptions(a)) {
    throw typeError(
      sig,
      "dim",
      `an integer${single ? "" : ", an array of integers"} or {${known.join(", ")}}`,
      a,
    );
  }
  const o = options(sig, a, known)!;
  if (b !== undefined) throw typeError(sig, "the argument after options", "absent", b);
  if (single) optInt(sig, "options.dim", o.dim);
  else dims(sig, "options.dim", o.dim);
  checkReduceOptions(sig, o);
  return o;
}

/** reduceArgs for ops that take one dim (argmax, sort, topk). */
export function dimArgs(
  sig: string,
  a: unknown,
  b: unknown,
  known: readonly string[] = REDUCE_OPTIONS,
  flag = "keepdim",
): Opts {
  return reduceArgs(sig, a, b, known, flag, true);
}

/** Tensor.clamp's arguments: `(min, max)` (either may be undefined) or `({ min, max })`. */
export function clampArgs(sig: string, a: unknown, b: unknown): { min?: number; max?: number } {
  let o: Opts;
  if (isOptions(a)) {
    o = options(sig, a, ["min", "max"])!;
    if (b !== undefined) throw typeError(sig, "the argument after options", "absent", b);
  } else o = { min: optNum(sig, "min", a), max: optNum(sig, "max", b) };
  optNum(sig, "options.min", o.min);
  optNum(sig, "options.max", o.max);
  if (o.min === undefined && o.max === undefined) {
    throw new TypeError(`${sig}: min or max must be given, got neither`);
  }
  return o as { min?: number; max?: number };
}

function checkReduceOptions(sig: string, o: Opts): void {
  if (o.keepdim !== undefined) bool(sig, "options.keepdim", o.keepdim);
  if (o.unbiased !== undefined) bool(sig, "options.unbiased", o.unbiased);
  if (o.descending !== undefined) bool(sig, "options.descending", o.descending);
  if (o.largest !== undefined) bool(sig, "options.largest", o.largest);
  if (o.sorted !== undefined) bool(sig, "options.sorted", o.sorted);
  if (o.p !== undefined) num(sig, "options.p", o.p);
}

const NORM_OPTIONS = ["p", "dim", "keepdim"] as const;

/** Tensor.norm's arguments: `(p)`, `(p, dim)`, `(p, dim, keepdim)` or `(options)`. */
export function normArgs(sig: string, p: unknown, dim: unknown, keepdim: unknown): Opts {
  if (typeof p === "number") {
    dims(sig, "dim", dim);
    optBool(sig, "keepdim", keepdim);
    return { p, dim, keepdim };
  }
  if (p === undefined && dim === undefined && keepdim === undefined) return NO_OPTIONS;
  const o = options(sig, p, NORM_OPTIONS);
  if (o === undefined) throw typeError(sig, "p", "a number or {p, dim, keepdim}", p);
  if (dim !== undefined) throw typeError(sig, "the argument after options", "absent", dim);
  dims(sig, "options.dim", o.dim);
  checkReduceOptions(sig, o);
  return o;
}
