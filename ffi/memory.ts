// Tensor lifetimes: explicit first, GC as a safety net (TorchSharp's
// DisposeScope and TF.js' tidy). Every handle the shim returns is counted
// here; scopes free what was created inside them; a FinalizationRegistry frees
// what was forgotten and counts it.
import { lib } from "./library.ts";

/** What memory.ts needs of a tensor; Tensor implements it. */
export interface Tracked {
  /** The native handle; null once freed. */
  _handle: Deno.PointerObject | null;
  /** Survives every scope (parameters, buffers, optimizer state). */
  _kept: boolean;
  /** Registered with the FinalizationRegistry (only tensors no scope will free are). */
  _registered: boolean;
}

let live = 0;
let finalized = 0;
const scopes: Tracked[][] = [];

const registry = new FinalizationRegistry<Deno.PointerObject>((handle) => {
  // Reached only for tensors never disposed: the handle is still ours.
  lib.tt_free(handle);
  live--;
  finalized++;
});

// Registration costs about as much as a small op, so tensors made inside a
// scope skip it: the scope frees them. Those that leave the last scope (or are
// kept) are registered then.
function register(t: Tracked): void {
  if (!t._registered && t._handle !== null) {
    registry.register(t, t._handle, t);
    t._registered = true;
  }
}

export function track(t: Tracked): void {
  live++;
  const top = scopes.length > 0 ? scopes[scopes.length - 1] : undefined;
  if (top !== undefined && !t._kept) top.push(t);
  else register(t);
}

/** Frees one tensor's handle. Returns false when it was already freed. */
export function release(t: Tracked): boolean {
  const h = t._handle;
  if (h === null) return false;
  t._handle = null;
  if (t._registered) registry.unregister(t);
  lib.tt_free(h);
  live--;
  return true;
}

const FREE_BATCH = new BigUint64Array(256);

/** Frees many tensors in as few FFI calls as possible. */
export function releaseMany(ts: Iterable<Tracked>): void {
  let n = 0;
  for (const t of ts) {
    const h = t._handle;
    if (h === null) continue;
    t._handle = null;
    if (t._registered) registry.unregister(t);
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

function collect(value: unknown, into: Set<Tracked>, depth = 0): void {
  if (value === null || typeof value !== "object" || depth > 8) return;
  if ("_handle" in value && "_kept" in value) {
    into.add(value as Tracked);
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
  const scope: Tracked[] = [];
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
    const survivors = new Set<Tracked>();
    if (ok) collect(result, survivors);
    releaseMany(scope.filter((t) => !t._kept && !survivors.has(t)));
    const parent = scopes.length > 0 ? scopes[scopes.length - 1] : undefined;
    for (const t of scope) {
      if (t._handle === null) continue;
      if (t._kept) register(t);
      else if (survivors.has(t)) {
        if (parent !== undefined) parent.push(t);
        else register(t);
      }
    }
  }
}

/** Marks a tensor to survive every enclosing and future scope; returns it. */
export function keep<T extends Tracked>(t: T): T {
  t._kept = true;
  register(t);
  return t;
}
