// Checkpoints: the codec of a run's training state. It owns the key layout
// (the method's own keys, the optim. prefix, the RNG states) and the file format:
// every tensor in one safetensors file plus state.json with the step, the
// optimizer's numbers and the file's SHA-256, in a step-<N> folder that
// appears by rename only when complete. The newest complete folder is the one
// to resume from; the one before it is kept, so a checkpoint damaged on disk
// never leaves the run without one. Train, resume, evaluate and export all
// read checkpoints through this module.
import { join } from "node:path";
import type { Tensor } from "../../ffi/tensor.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  type RawTensor,
  SafetensorsError,
} from "../io/safetensors.ts";
import { rawToTensor, tensorToRaw } from "../io/tensors.ts";
import { ENCODER_PREFIX } from "../method/method.ts";
import {
  AtomicWriteError,
  removeStaleTemps,
  writeDirAtomic,
  writeFileAtomic,
} from "../io/atomic.ts";

/**
 * Where each part of the training state lives among a checkpoint's tensors.
 * Every key outside `optim.` and `rng.` is the method's (its stateDict's:
 * BYOL's `online.*` and `target.*`, SimSiam's `online.*`); every method keeps
 * its encoder under `online.encoder.` (ENCODER_PREFIX).
 */
const LAYOUT = {
  encoder: ENCODER_PREFIX,
  /** The optimizer's state tensors. */
  optim: "optim.",
  /** The online linear probe's classifier (--online-probe). */
  probe: "probe.",
  /** Reserved for the run's RNG states. */
  rng: "rng.",
  cpuRng: "rng.cpu",
  augmentRng: "rng.augment",
} as const;

export interface CheckpointMeta {
  version: 1;
  /** Optimizer steps done. */
  step: number;
  epoch: number;
  /** Steps done within `epoch`. */
  stepInEpoch: number;
  /** The optimizer's JSON state (step counts, flags). */
  optimizer: unknown;
  sha256: string;
  bytes: number;
  savedAt: string;
}

/** What a resume needs, by part. The tensors belong to the caller of decodeState. */
export interface TrainingState {
  step: number;
  epoch: number;
  stepInEpoch: number;
  /** The method's stateDict (its keys; the encoder under `online.encoder.`). */
  model: Record<string, Tensor>;
  /** The online probe's state dict (empty without one). */
  probe: Record<string, Tensor>;
  optimizer: { tensors: Record<string, Tensor>; meta: unknown };
  cpuRng: Tensor;
  augmentRng: Tensor;
}

export interface Checkpoint {
  dir: string;
  meta: CheckpointMeta;
  tensors: Record<string, Tensor>;
}

export class CheckpointError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CheckpointError";
  }
}

/** How many checkpoint folders a run keeps by default (the newest and the one before). */
export const KEEP_CHECKPOINTS = 2;
const STEP_DIR = /^step-\d+$/;

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

function withPrefix(dict: Record<string, Tensor>, prefix: string): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(dict)) {
    if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  }
  return out;
}

/** Whether a checkpoint key is the codec's own rather than the method's. */
function reserved(key: string): boolean {
  return [LAYOUT.optim, LAYOUT.probe, LAYOUT.rng].some((p) => key.startsWith(p));
}

/** The training state as one flat tensor record in the checkpoint's layout. */
export function encodeState(s: TrainingState): Record<string, Tensor> {
  const out: Record<string, Tensor> = {
    [LAYOUT.cpuRng]: s.cpuRng,
    [LAYOUT.augmentRng]: s.augmentRng,
  };
  for (const [k, t] of Object.entries(s.model)) {
    if (reserved(k)) {
      throw new CheckpointError(
        `the method's state has a key "${k}" in the checkpoint's reserved optim./probe./rng. ` +
          "space; rename it in the method's stateDict",
      );
    }
    out[k] = t;
  }
  for (const [k, t] of Object.entries(s.probe)) out[LAYOUT.probe + k] = t;
  for (const [k, t] of Object.entries(s.optimizer.tensors)) out[LAYOUT.optim + k] = t;
  return out;
}

/** A loaded checkpoint split back into its parts (the same tensors, not copies). */
export function decodeState(ck: Checkpoint): TrainingState {
  const t = ck.tensors;
  const need = (k: string) => {
    if (t[k] === undefined) throw new CheckpointError(`checkpoint ${ck.dir} has no ${k} tensor`);
    return t[k];
  };
  return {
    step: ck.meta.step,
    epoch: ck.meta.epoch,
    stepInEpoch: ck.meta.stepInEpoch,
    model: Object.fromEntries(Object.entries(t).filter(([k]) => !reserved(k))),
    probe: withPrefix(t, LAYOUT.probe),
    optimizer: { tensors: withPrefix(t, LAYOUT.optim), meta: ck.meta.optimizer },
    cpuRng: need(LAYOUT.cpuRng),
    augmentRng: need(LAYOUT.augmentRng),
  };
}

/** The online encoder's state dict (torchvision names) of a loaded checkpoint. */
export function encoderState(ck: Checkpoint): Record<string, Tensor> {
  return withPrefix(ck.tensors, LAYOUT.encoder);
}

/** Frees every tensor of a loaded checkpoint. */
export function disposeCheckpoint(ck: Checkpoint): void {
  for (const v of Object.values(ck.tensors)) if (!v.isDisposed) v.dispose();
}

/**
 * Writes `<runDir>/checkpoints/step-<N>/` atomically; keeps the newest `keep`
 * (two by default). Returns its folder.
 */
export async function saveCheckpoint(
  runDir: string,
  s: TrainingState,
  keep = KEEP_CHECKPOINTS,
): Promise<string> {
  if (!Number.isInteger(keep) || keep < 1) {
    throw new RangeError(`saveCheckpoint: keep must be an integer >= 1, got ${keep}`);
  }
  const root = join(runDir, "checkpoints");
  const name = `step-${String(s.step).padStart(7, "0")}`;
  const final = join(root, name);
  try {
    await Deno.mkdir(root, { recursive: true });
    await removeStaleTemps(root);
    const raw: Record<string, RawTensor> = {};
    for (const [k, t] of Object.entries(encodeState(s))) raw[k] = tensorToRaw(t);
    const bytes = encodeSafetensors(raw);
    const meta: CheckpointMeta = {
      version: 1,
      step: s.step,
      epoch: s.epoch,
      stepInEpoch: s.stepInEpoch,
      optimizer: s.optimizer.meta,
      sha256: await sha256(bytes),
      bytes: bytes.length,
      savedAt: new Date().toISOString(),
    };
    await writeDirAtomic(final, async (tmp) => {
      await writeFileAtomic(join(tmp, "state.safetensors"), bytes);
      await writeFileAtomic(join(tmp, "state.json"), JSON.stringify(meta, null, 2) + "\n");
    });
  } catch (e) {
    const why = e instanceof AtomicWriteError
      ? (e.cause as Error)?.message ?? e.message
      : (e as Error).message;
    throw new CheckpointError(
      `could not write checkpoint ${final}: ${why}; check free space and permissions ` +
        "(the previous checkpoint is unchanged)",
      { cause: e },
    );
  }
  await prune(root, name, keep);
  return final;
}

/** Keeps the newest `keep` checkpoint folders. */
async function prune(root: string, newest: string, keep: number): Promise<void> {
  const dirs = (await listCheckpoints(root)).filter((d) => d !== newest);
  for (const d of dirs.slice(0, Math.max(0, dirs.length - (keep - 1)))) {
    await Deno.remove(join(root, d), { recursive: true }).catch(() => {});
  }
}

/** The step-<N> folders under `root`, oldest first. */
async function listCheckpoints(root: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(root)) {
      if (e.isDirectory && STEP_DIR.test(e.name)) out.push(e.name);
    }
  } catch {
    return [];
  }
  return out.sort();
}

/**
 * Resolves what `--resume PATH` names: a checkpoint folder itself, or a run
 * folder (its newest checkpoint; folders appear whole, by rename, so the
 * newest one listed is complete).
 */
export async function resolveCheckpointDir(path: string): Promise<string> {
  const stat = await Deno.stat(path).catch(() => null);
  if (stat === null) throw new CheckpointError(`--resume ${path}: no such file or folder`);
  if (await Deno.stat(join(path, "state.json")).catch(() => null)) return path;
  const root = join(path, "checkpoints");
  const dirs = await listCheckpoints(root);
  if (dirs.length === 0) {
    throw new CheckpointError(
      `--resume ${path}: the run has no checkpoint to resume from; start it again without --resume`,
    );
  }
  return join(root, dirs[dirs.length - 1]);
}

/** Loads and verifies a checkpoint folder; a damaged one is refused, naming a good fallback. */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const refuse = async (why: string, cause?: unknown): Promise<never> => {
    const root = join(dir, "..");
    const others = (await listCheckpoints(root)).filter((d) => join(root, d) !== join(dir));
    const hint = others.length
      ? `; the previous checkpoint ${
        join(root, others[others.length - 1])
      } is intact: resume from it with --resume ${join(root, others[others.length - 1])}`
      : "";
    throw new CheckpointError(`checkpoint ${dir} is unusable: ${why}${hint}`, { cause });
  };
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(await Deno.readTextFile(join(dir, "state.json")));
  } catch (e) {
    return refuse(`state.json is missing or not JSON (${(e as Error).message})`, e);
  }
  if (meta.version !== 1 || typeof meta.step !== "number" || typeof meta.sha256 !== "string") {
    return refuse("state.json is not a checkpoint of this toolkit");
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(join(dir, "state.safetensors"));
  } catch (e) {
    return refuse("state.safetensors is missing", e);
  }
  if (bytes.length !== meta.bytes) {
    return refuse(
      `state.safetensors has ${bytes.length} bytes, ${meta.bytes} were written (truncated?)`,
    );
  }
  if ((await sha256(bytes)) !== meta.sha256) {
    return refuse("state.safetensors does not match its recorded SHA-256 (corrupted on disk)");
  }
  let content;
  try {
    content = decodeSafetensors(bytes, join(dir, "state.safetensors"));
  } catch (e) {
    if (e instanceof SafetensorsError) return refuse(e.message, e);
    throw e;
  }
  const tensors: Record<string, Tensor> = {};
  for (const [k, raw] of Object.entries(content.tensors)) tensors[k] = rawToTensor(raw, "cpu", k);
  return { dir, meta, tensors };
}
