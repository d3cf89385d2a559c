// Checkpoints: every tensor (online and target networks, optimizer state, RNG
// states) in one safetensors file plus a JSON file with the step, the
// optimizer's numbers and the file's SHA-256, in a folder that appears by
// rename only when complete. `latest.json` names the newest; the one before
// it is kept, so a checkpoint damaged on disk never leaves the run without one.
import { join } from "node:path";
import type { Tensor } from "../../ffi/tensor.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  type RawTensor,
  SafetensorsError,
} from "../io/safetensors.ts";
import { rawToTensor, tensorToRaw } from "../io/tensors.ts";

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

const KEEP = 2;

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function writeFileSynced(path: string, bytes: Uint8Array): Promise<void> {
  using f = await Deno.open(path, { write: true, createNew: true });
  for (let off = 0; off < bytes.length;) off += await f.write(bytes.subarray(off));
  await f.sync();
}

/** Writes `<runDir>/checkpoints/step-<N>/` atomically and points latest.json at it. */
export async function saveCheckpoint(
  runDir: string,
  tensors: Record<string, Tensor>,
  meta: Omit<CheckpointMeta, "version" | "sha256" | "bytes" | "savedAt">,
): Promise<string> {
  const root = join(runDir, "checkpoints");
  await Deno.mkdir(root, { recursive: true });
  const name = `step-${String(meta.step).padStart(7, "0")}`;
  const final = join(root, name);
  const tmp = join(root, `.${name}.tmp-${Deno.pid}`);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp);
  try {
    const raw: Record<string, RawTensor> = {};
    for (const [k, t] of Object.entries(tensors)) raw[k] = tensorToRaw(t);
    const bytes = encodeSafetensors(raw);
    const full: CheckpointMeta = {
      version: 1,
      ...meta,
      sha256: await sha256(bytes),
      bytes: bytes.length,
      savedAt: new Date().toISOString(),
    };
    await writeFileSynced(join(tmp, "state.safetensors"), bytes);
    await writeFileSynced(
      join(tmp, "state.json"),
      new TextEncoder().encode(JSON.stringify(full, null, 2) + "\n"),
    );
    await Deno.remove(final, { recursive: true }).catch(() => {});
    await Deno.rename(tmp, final);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new CheckpointError(
      `could not write checkpoint ${final}: ${
        (e as Error).message
      }; check free space and permissions`,
      { cause: e },
    );
  }
  const latestTmp = join(root, `.latest.json.tmp-${Deno.pid}`);
  await writeFileSynced(latestTmp, new TextEncoder().encode(JSON.stringify({ dir: name }) + "\n"));
  await Deno.rename(latestTmp, join(root, "latest.json"));
  await prune(root, name);
  return final;
}

/** Keeps the newest KEEP checkpoint folders. */
async function prune(root: string, newest: string): Promise<void> {
  const dirs = (await listCheckpoints(root)).filter((d) => d !== newest);
  for (const d of dirs.slice(0, Math.max(0, dirs.length - (KEEP - 1)))) {
    await Deno.remove(join(root, d), { recursive: true }).catch(() => {});
  }
}

async function listCheckpoints(root: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(root)) {
      if (e.isDirectory && /^step-\d+$/.test(e.name)) out.push(e.name);
    }
  } catch {
    return [];
  }
  return out.sort();
}

/**
 * Resolves what `--resume PATH` names: a run folder (its latest checkpoint) or
 * a checkpoint folder itself.
 */
export async function resolveCheckpointDir(path: string): Promise<string> {
  const stat = await Deno.stat(path).catch(() => null);
  if (stat === null) throw new CheckpointError(`--resume ${path}: no such file or folder`);
  if (await Deno.stat(join(path, "state.json")).catch(() => null)) return path;
  const root = join(path, "checkpoints");
  let latest: string | null = null;
  try {
    latest = JSON.parse(await Deno.readTextFile(join(root, "latest.json"))).dir;
  } catch {
    const dirs = await listCheckpoints(root);
    latest = dirs.length ? dirs[dirs.length - 1] : null;
  }
  if (latest === null) {
    throw new CheckpointError(`--resume ${path}: the run has no checkpoint to resume from`);
  }
  return join(root, latest);
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
