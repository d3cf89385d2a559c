// Builds encoders from the registry (encoder_registry.ts): the one a config
// names, or the one an encoder file's metadata records. Every kind's module is
// imported once, when this module is first imported, so building stays synchronous.
import type { Encoder } from "../byol/model.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import { readStateDictFile } from "../io/tensors.ts";
import {
  buildFromSpec,
  type EncoderName,
  type EncoderSpec,
  encoderSpec,
  loadEncoderBuilders,
  specFromMetadata,
  type SpecKey,
  type Stem,
} from "./encoder_registry.ts";

const BUILDERS = await loadEncoderBuilders();

/** The (random-init) encoder a config trains on `inChannels`-channel images. */
export function buildEncoder(
  cfg: { encoder: EncoderName; stem: Stem; width: number },
  inChannels: number,
): Encoder {
  return buildFromSpec(BUILDERS, encoderSpec(cfg, inChannels));
}

/** The (random-init) encoder of a spec. */
export function encoderFromSpec(spec: EncoderSpec): Encoder {
  return buildFromSpec(BUILDERS, spec);
}

/**
 * The (random-init) encoder an encoder file's metadata records (every key
 * present; see specFromMetadata for files that lack some).
 */
export function encoderFromMetadata(meta: Record<string, string> | null, file = "encoder"): {
  encoder: Encoder;
  spec: EncoderSpec;
} {
  const { spec } = specFromMetadata(meta, file);
  return { encoder: encoderFromSpec(spec), spec };
}

/** An encoder file read: its weights, and the spec its metadata records. */
export interface EncoderFile {
  path: string;
  state: Record<string, Tensor>;
  spec: EncoderSpec;
  /** The keys the file lacks, taken from the fallback. */
  missing: SpecKey[];
}

/**
 * Reads an encoder file: its weights and the spec its metadata records. Keys
 * the file lacks come from `fallback` and are listed in `missing`.
 */
export async function readEncoderFile(
  path: string,
  fallback: Parameters<typeof specFromMetadata>[2] = {},
): Promise<EncoderFile> {
  const { tensors, metadata } = await readStateDictFile(path);
  try {
    return { path, state: tensors, ...specFromMetadata(metadata, path, fallback) };
  } catch (e) {
    for (const t of Object.values(tensors)) t.dispose();
    throw e;
  }
}

/**
 * The encoder of a file read by readEncoderFile, with its weights (random init
 * with `weights: false`); the file's tensors are freed either way.
 */
export function encoderOfFile(file: EncoderFile, opts: { weights?: boolean } = {}): Encoder {
  try {
    const encoder = encoderFromSpec(file.spec);
    if (opts.weights ?? true) {
      try {
        encoder.loadStateDict(file.state);
      } catch (e) {
        encoder.dispose();
        throw e;
      }
    }
    return encoder;
  } finally {
    for (const t of Object.values(file.state)) t.dispose();
  }
}
