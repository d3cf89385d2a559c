// A run folder and everything written into it: config.json (the resolved
// settings), metrics.jsonl, checkpoints/, encoder.safetensors, eval.json,
// plots/. Only a writer folder writes (in a multi-process run, one process
// does); every other process gets the same object with writes turned off.
import { join, resolve } from "node:path";
import type { Tensor } from "../../ffi/tensor.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { loadStateDictFile, saveStateDict } from "../io/tensors.ts";
import {
  type Checkpoint,
  encoderState,
  loadCheckpoint,
  resolveCheckpointDir,
  saveCheckpoint,
  type TrainingState,
} from "./checkpoint.ts";
import { MetricsWriter } from "./metrics.ts";
import { ConfigError, migrateSaved, type TrainConfig, validate } from "./settings.ts";

export class RunFolder {
  readonly dir: string;
  /** false: a process that computes along but leaves the writing to another. */
  readonly writer: boolean;

  constructor(dir: string, opts: { writer?: boolean } = {}) {
    this.dir = resolve(dir);
    this.writer = opts.writer ?? true;
  }

  /** The folder a new run of `cfg` writes to: --out, else runs/<date>-<preset>. */
  static forNewRun(cfg: TrainConfig, opts: { writer?: boolean } = {}): RunFolder {
    return new RunFolder(cfg.out || join("runs", `${stamp()}-${cfg.preset}`), opts);
  }

  get configPath(): string {
    return join(this.dir, "config.json");
  }
  get metricsPath(): string {
    return join(this.dir, "metrics.jsonl");
  }
  get checkpointsDir(): string {
    return join(this.dir, "checkpoints");
  }
  get encoderPath(): string {
    return join(this.dir, "encoder.safetensors");
  }
  get evalPath(): string {
    return join(this.dir, "eval.json");
  }

  /** Creates the folder of a new run and writes its config.json (a fresh, empty metrics file). */
  async create(cfg: TrainConfig): Promise<void> {
    if (!this.writer) return;
    await this.#mkdir();
    await this.writeJson("config.json", cfg);
    await writeFileAtomic(this.metricsPath, "");
  }

  /** Makes sure the folder of a resumed run is there and writable. */
  async reopen(): Promise<void> {
    if (this.writer) await this.#mkdir();
  }

  async #mkdir(): Promise<void> {
    try {
      await Deno.mkdir(this.dir, { recursive: true });
    } catch (e) {
      throw new ConfigError(
        `cannot create the run folder ${this.dir}: ${
          (e as Error).message
        }; pick another with --out`,
      );
    }
  }

  /** The metrics writer (null for a process that does not write). */
  async openMetrics(): Promise<MetricsWriter | null> {
    return this.writer ? await MetricsWriter.open(this.metricsPath) : null;
  }

  /**
   * Writes a checkpoint of `state`, keeping the newest `keep` (checkpoint.ts's
   * default: two); returns its folder (null when not the writer).
   */
  async saveCheckpoint(state: TrainingState, keep?: number): Promise<string | null> {
    return this.writer ? await saveCheckpoint(this.dir, state, keep) : null;
  }

  /** Writes the online encoder with torchvision's names and its metadata (encoderMetadata). */
  async saveEncoder(
    encoder: { stateDict(): Record<string, Tensor> },
    meta: Record<string, string>,
  ) {
    if (this.writer) await saveStateDict(this.encoderPath, encoder, meta);
  }

  /** Writes `name` (relative to the folder) as pretty JSON, atomically. */
  async writeJson(name: string, value: unknown): Promise<void> {
    if (this.writer) {
      await writeFileAtomic(join(this.dir, name), JSON.stringify(value, null, 2) + "\n");
    }
  }

  /** The settings the run was started with (migrated to today's table, validated). */
  async readConfig(): Promise<TrainConfig> {
    let saved: unknown;
    try {
      saved = JSON.parse(await Deno.readTextFile(this.configPath));
    } catch (e) {
      throw new ConfigError(
        `${this.dir}: no readable config.json (${(e as Error).message}); is it a run folder?`,
      );
    }
    if (saved === null || typeof saved !== "object" || Array.isArray(saved)) {
      throw new ConfigError(`${this.configPath}: not a settings object`);
    }
    return validate(migrateSaved(saved as Record<string, unknown>));
  }

  /**
   * The run's online encoder weights: encoder.safetensors when the run finished,
   * else its newest checkpoint's (an interrupted run). `source` says which.
   */
  async loadEncoderState(): Promise<{ state: Record<string, Tensor>; source: string }> {
    if (await Deno.stat(this.encoderPath).then(() => true, () => false)) {
      return { state: await loadStateDictFile(this.encoderPath), source: this.encoderPath };
    }
    const ck = await this.loadCheckpoint();
    const state = encoderState(ck);
    const kept = new Set(Object.values(state));
    for (const t of Object.values(ck.tensors)) if (!kept.has(t)) t.dispose();
    return { state, source: `${ck.dir} (step ${ck.meta.step})` };
  }

  /** The newest checkpoint (or the one `path` names), loaded and verified. */
  async loadCheckpoint(path?: string): Promise<Checkpoint> {
    return await loadCheckpoint(await resolveCheckpointDir(path ?? this.dir));
  }
}

/**
 * The run folder a `--resume PATH` or `--run PATH` names: a run folder, or one
 * of its checkpoint folders (`<run>/checkpoints/step-N`).
 */
export async function runFolderOf(
  path: string,
): Promise<{ run: RunFolder; checkpoint: string | null }> {
  const isCheckpoint = await Deno.stat(join(path, "state.json")).then(() => true, () => false);
  return isCheckpoint
    ? { run: new RunFolder(join(path, "..", "..")), checkpoint: path }
    : { run: new RunFolder(path), checkpoint: null };
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
}
