// Tensors <-> safetensors: converts between libtorch tensors and the raw
// little-endian bytes of src/io/safetensors.ts, and saves/loads state dicts.
import type { Tensor } from "../../ffi/tensor.ts";
import { fromBytes } from "../../ffi/creation.ts";
import type { Device } from "../../ffi/device.ts";
import { dtypeInfo, dtypeOfSafetensors } from "../../ffi/dtype.ts";
import {
  type RawTensor,
  readSafetensorsFile,
  SafetensorsError,
  writeSafetensorsFile,
} from "./safetensors.ts";

/** A tensor's values as raw safetensors bytes (copied to the host). */
export function tensorToRaw(t: Tensor): RawTensor {
  return { dtype: dtypeInfo(t.dtype).safetensors, shape: t.shape, data: t.toBytes() };
}

/** A new tensor holding a raw tensor's bytes, on `device` (default CPU). */
export function rawToTensor(
  raw: RawTensor,
  device: Device | string = "cpu",
  name = "tensor",
): Tensor {
  const dtype = dtypeOfSafetensors(raw.dtype);
  if (dtype === undefined) {
    throw new SafetensorsError(name, `dtype ${raw.dtype} has no libtorch equivalent here`);
  }
  return fromBytes(raw.data, raw.shape, dtype, { device });
}

/** Anything with named tensors: a Module (stateDict()) or a plain record. */
export type StateDictSource = Record<string, Tensor> | { stateDict(): Record<string, Tensor> };

/**
 * Writes a state dict as safetensors, atomically (temp file + rename). Keys
 * are PyTorch's dotted names, so the file loads with torch's load_state_dict.
 */
export async function saveStateDict(
  path: string,
  source: StateDictSource,
  metadata?: Record<string, string>,
): Promise<void> {
  const dict = typeof source.stateDict === "function"
    ? (source as { stateDict(): Record<string, Tensor> }).stateDict()
    : source as Record<string, Tensor>;
  const raw: Record<string, RawTensor> = {};
  for (const [k, t] of Object.entries(dict)) raw[k] = tensorToRaw(t);
  await writeSafetensorsFile(path, raw, metadata);
}

/** Reads a safetensors file into new tensors on `device` (default CPU). */
export async function loadStateDictFile(
  path: string,
  opts: { device?: Device | string } = {},
): Promise<Record<string, Tensor>> {
  return (await readStateDictFile(path, opts)).tensors;
}

/** Reads a safetensors file: new tensors on `device` (default CPU) and its `__metadata__` (or null). */
export async function readStateDictFile(
  path: string,
  opts: { device?: Device | string } = {},
): Promise<{ tensors: Record<string, Tensor>; metadata: Record<string, string> | null }> {
  const { tensors, metadata } = await readSafetensorsFile(path);
  const out: Record<string, Tensor> = {};
  for (const [k, raw] of Object.entries(tensors)) {
    out[k] = rawToTensor(raw, opts.device ?? "cpu", `${path}: ${k}`);
  }
  return { tensors: out, metadata };
}
