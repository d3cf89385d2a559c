// Tensor lifetimes: explicit first, GC as a safety net (TorchSharp's
// DisposeScope and TF.js' tidy). Every handle the shim returns is counted
// here; scopes free what was created inside them; a FinalizationRegistry frees
// what was forgotten and counts it.
//
// This module sits below tensor.ts and does not import it: the Tensor class
// hands over its two private accessors once, when it is defined
// (`bindTensorClass`), so the brand check and the Life record stay private to
// it and the import graph has no cycle.
import { lib } from "./library.ts";

/** What memory.ts knows of a tensor: an object whose Life record the Tensor class can give. */
type Tensor = object;

let lifeOf: (t: Tensor) => Life = () => {
  throw new Error(
    "ffi/memory.ts: the Tensor class has not bound its accessors (import ffi/tensor.ts)",
  );
};
let isTensor: (v: unknown) => boolean = () => false;

/**
 * @internal Called once by ffi/tensor.ts with the Tensor class's brand check
 * and Life accessor.
 */
/** @internal The Tensor class's brand check (for ffi/args.ts, which sits below tensor.ts too). */
export function isTensorObject(v: unknown): boolean {
  return isTensor(v);
}

// How an argument error names a value: ffi/args.ts's wording, which it
// registers when loaded (it imports this module, so this one cannot import it).
let describeArg: (v: unknown) => string = (v) => v === null ? "null" : typeof v;

/** @internal ffi/args.ts hands over its value describer. */
export function setArgDescriber(describe: (v: unknown) => string): void {
  describeArg = describe;
}

export function bindTensorClass(
  accessors: { lifeOf: (t: Tensor) => Life; isTensor: (v: unknown) => boolean },
): void {
  lifeOf = accessors.lifeOf;
  isTensor = accessors.isTensor;
}

/**
 * @internal A tensor's native handle and its bookkeeping. Each Tensor owns one
 * in a private field; the FinalizationRegistry holds it as the value passed to
 * its callback, so it must never reference the tensor. An in-place data swap
 * (assignData) changes `h`, and the registry then frees the new handle.
 */
export class Life {
  /** The native handle; null once freed (or moved to another tensor). */
  h: Deno.PointerObject | null;
  /** Survives every scope (parameters, buffers, optimizer state). */
  kept = false;
  /** Registered with the FinalizationRegistry (only tensors no scope will free are). */
  registered = false;

  constructor(h: Deno.PointerObject) {
    this.h = h;
  }
}

let live = 0;
let finalized = 0;
const scopes: Tensor[][] = [];

const registry = new FinalizationRegistry<Life>((life) => {
  // Reached only for tensors never disposed: the handle is still ours.
  const h = life.h;
  if (h === null) return;
  life.h = null;
  lib.tt_free(h);
  live--;
  finalized++;
});

// Registration costs about as much as a small op, so tensors made inside a
// scope skip it: the scope frees them. Those that leave the last scope (or are
// kept) are registered then.
function register(t: Tensor, life: Life): void {
  if (!life.registered && life.h !== null) {
    registry.register(t, life, t);
    life.registered = true;
  }
}

/** @internal Counts a new tensor and hands it to the innermost scope (Tensor's constructor). */
export function track(t: Tensor): void {
  live++;
  const life = lifeOf(t);
  const top = scopes.length > 0 ? scopes[scopes.length - 1] : undefined;
  if (top !== undefined && !life.kept) top.push(t);
  else register(t, life);
}

/** @internal Frees one tensor's handle. Returns false when it was already freed. */
export function release(t: Tensor): boolean {
  const life = lifeOf(t);
  const h = life.h;
  if (h === null) return false;
  life.h = null;
  if (life.registered) {
    registry.unregister(t);
    life.registered = false;
  }
  lib.tt_free(h);
  live--;
  return true;
}

/**
 * @internal The bookkeeping of assignData: `dst` takes `src`'s handle and frees
 * its own; `src` is left disposed (and unregistered). One handle fewer is live.
 */
export function adoptHandle(dst: Life, src: Tensor, srcLife: Life): void {
  const old = dst.h!;
  dst.h = srcLife.h;
  srcLife.h = null;
  if (srcLife.registered) {
    registry.unregister(src);
    srcLife.registered = false;
  }
  lib.tt_free(old);
  live--;
}

const FREE_BATCH = new BigUint64Array(256);

/** Frees many tensors in as few FFI calls as possible (already freed ones are skipped). */
export function releaseMany(ts: Iterable<Tensor>): void {
  let n = 0;
  for (const t of ts) {
    const life = lifeOf(t);
    const h = life.h;
    if (h === null) continue;
    life.h = null;
    if (life.registered) {
      registry.unregister(t);
      life.registered = false;
    }
    FREE_BATCH[n++] = BigInt(Deno.UnsafePointer.value(h));
    live--;
    if (n === FREE_BATCH.length) {
      lib.tt_free_list(FREE_BATCH, n);
      n = 0;
    }
  }
  if (n > 0) lib.tt_free_list(FREE_BATCH, n);
}

/** Number of tensors created and not yet freed. */
export function liveTensorCount(): number {
  return live;
}

/** Number of tensors the garbage collector freed because nobody disposed them. */
export function finalizedTensorCount(): number {
  return finalized;
}

function collect(value: unknown, into: Set<Tensor>, depth = 0): void {
  if (value === null || typeof value !== "object" || depth > 8) return;
  if (isTensor(value)) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, into, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, into, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, into, depth + 1);
  }
}

/**
 * Runs `fn` and frees every tensor created inside it, except the tensors it
 * returns (directly, or inside arrays, Maps and plain objects) and those passed
 * to `keep()`. Returned tensors move to the enclosing scope. `fn` must be
 * synchronous: a scope cannot follow an `await`.
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== "function") {
    throw new TypeError(`tidy(fn): fn must be a function, got ${describeArg(fn)}`);
  }
  const scope: Tensor[] = [];
  scopes.push(scope);
  let result: T | undefined;
  let ok = false;
  try {
    result = fn();
    if (result instanceof Promise) {
      throw new TypeError("tidy() takes a synchronous function; it got a Promise back");
    }
    ok = true;
    return result;
  } finally {
    scopes.pop();
    const survivors = new Set<Tensor>();
    if (ok) collect(result, survivors);
    releaseMany(scope.filter((t) => !lifeOf(t).kept && !survivors.has(t)));
    const parent = scopes.length > 0 ? scopes[scopes.length - 1] : undefined;
    for (const t of scope) {
      const life = lifeOf(t);
      if (life.h === null) continue;
      if (life.kept) register(t, life);
      else if (survivors.has(t)) {
        if (parent !== undefined) parent.push(t);
        else register(t, life);
      }
    }
  }
}

/** Marks a tensor to survive every enclosing and future scope; returns it. */
export function keep<T extends Tensor>(t: T): T {
  if (!isTensor(t)) {
    throw new TypeError(`keep(tensor): tensor must be a Tensor, got ${describeArg(t)}`);
  }
  const life = lifeOf(t);
  life.kept = true;
  register(t, life);
  return t;
}
