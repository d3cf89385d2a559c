// Calling conventions: status checks, the shared out-pointer buffers and
// scratch arrays for shapes. Calls are synchronous on the main thread, so one
// set of scratch buffers serves every call.
import { lib } from "./library.ts";
import { TorchError } from "./error.ts";

/** Out-pointers: room for up to 64 handles (chunk/split results). */
export const OUT = new BigUint64Array(64);
export const OUT2 = new BigUint64Array(1);
const OUT_VIEW = new Deno.UnsafePointerView(Deno.UnsafePointer.of(OUT)!);
const OUT2_VIEW = new Deno.UnsafePointerView(Deno.UnsafePointer.of(OUT2)!);

/** Out-values: doubles, int32s and int64s. */
export const OUT_F64 = new Float64Array(1);
export const OUT_I32 = new Int32Array(1);
export const OUT_I64 = new BigInt64Array(1);

/** Throws a TorchError with libtorch's message when `status` is not 0. */
export function check(op: string, status: number): void {
  if (status !== 0) {
    const p = lib.tt_last_error();
    const msg = p === null ? "unknown error" : Deno.UnsafePointerView.getCString(p);
    throw new TorchError(op, msg);
  }
}

/** The handle the last call wrote to OUT[i]. */
export function outHandle(i = 0): Deno.PointerObject {
  const p = OUT_VIEW.getPointer(i * 8);
  if (p === null) throw new TorchError("shim", "returned a null handle");
  return p;
}

export function outHandle2(): Deno.PointerObject {
  const p = OUT2_VIEW.getPointer(0);
  if (p === null) throw new TorchError("shim", "returned a null handle");
  return p;
}

/** Nullable variant, for grad. */
export function outHandleOrNull(): Deno.PointerObject | null {
  return OUT_VIEW.getPointer(0);
}

const SHAPES = [new BigInt64Array(16), new BigInt64Array(16), new BigInt64Array(16)];

/** Fills scratch buffer `slot` with integers (shapes, dims, pads). */
export function ints(values: readonly number[], slot = 0): BigInt64Array {
  if (values.length > 16) {
    return BigInt64Array.from(values, (v) => BigInt(checkInt(v)));
  }
  const buf = SHAPES[slot];
  for (let i = 0; i < values.length; i++) buf[i] = BigInt(checkInt(values[i]));
  return buf;
}

function checkInt(v: number): number {
  if (!Number.isInteger(v)) throw new TypeError(`expected an integer, got ${v}`);
  return v;
}

/** Packs handles into a pointer array for list calls. */
export function handleArray(handles: readonly Deno.PointerObject[]): BigUint64Array {
  const a = new BigUint64Array(Math.max(handles.length, 1));
  for (let i = 0; i < handles.length; i++) a[i] = BigInt(Deno.UnsafePointer.value(handles[i]));
  return a;
}
