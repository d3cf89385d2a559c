// The checkpoints of a run, a subscriber of the loop like the loggers: the
// trainer installs a Checkpointer ahead of every other callback. The loop says
// when (onCheckpointDue: the state is consistent at a step and a checkpoint is
// due, see callbacks.ts); this says how and where: the whole training state
// (run.ts's captureState) into the run folder's checkpoints/step-N through the
// codec of checkpoint.ts (written atomically, the newest `keep` kept), then
// onCheckpoint to every callback, so a logger's onCheckpoint sees the folder
// written. Awaited by the loop, so a stop (SIGINT) or kill -9 finds the
// checkpoints exactly where they were before this was a callback.
import type { Callback, CheckpointDue, Emit, TrainContext } from "./callbacks.ts";
import { KEEP_CHECKPOINTS } from "./checkpoint.ts";
import { captureState, type Run } from "./run.ts";
import type { RunFolder } from "./run_folder.ts";

/**
 * Writes a checkpoint of `run` at `step` into `folder`, keeping its newest
 * `keep`; returns the checkpoint's folder (null when `folder` is not the writer).
 */
export async function writeCheckpoint(
  run: Run,
  folder: RunFolder,
  step: number,
  keep = KEEP_CHECKPOINTS,
): Promise<string | null> {
  if (!folder.writer) return null;
  const state = captureState(run, step);
  try {
    return await folder.saveCheckpoint(state, keep);
  } finally {
    state.cpuRng.dispose();
    state.augmentRng.dispose();
  }
}

export class Checkpointer implements Callback {
  /** How many checkpoint folders the run keeps (the newest ones). */
  readonly keep: number;
  #emit: Emit | null = null;

  constructor(opts: { keep?: number } = {}) {
    this.keep = opts.keep ?? KEEP_CHECKPOINTS;
    if (!Number.isInteger(this.keep) || this.keep < 1) {
      throw new RangeError(`Checkpointer: keep must be an integer >= 1, got ${this.keep}`);
    }
  }

  onTrainStart(ctx: TrainContext): void {
    this.#emit = ctx.emit;
  }

  async onCheckpointDue(due: CheckpointDue): Promise<void> {
    const dir = await writeCheckpoint(due.run, due.folder, due.step, this.keep);
    if (dir !== null) await this.#emit?.("onCheckpoint", dir);
  }

  close(): void {
    this.#emit = null;
  }
}
