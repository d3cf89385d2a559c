/**
 * Whether a set of images lives on a GPU or stays on the host: the one rule
 * the loader and the evaluation share. A set fits when it takes at most half
 * the device's free memory (the rest is the model's, the batch's and the
 * allocator's).
 */
import { cuda } from "../../ffi/runtime.ts";

/** Free memory of a CUDA device in bytes; null on the CPU or when it cannot tell. */
export function deviceFreeBytes(device: string): number | null {
  if (!device.startsWith("cuda")) return null;
  try {
    return cuda.memGetInfo(device).free;
  } catch {
    return null;
  }
}

/** Whether `bytes` of images go on `device` (always on the CPU; on a GPU, half its free memory). */
export function fitsOnDevice(
  bytes: number,
  device: string,
  free = deviceFreeBytes(device),
): boolean {
  if (!device.startsWith("cuda")) return true;
  return free !== null && bytes <= free / 2;
}
