// The training loop's events and their subscribers, as Lightning's callbacks
// are to its Trainer: the loop (trainer.ts) emits, and the checkpoints
// (checkpointer.ts), metrics.jsonl, the TensorBoard event files (loggers/), the
// progress bar, the plots and the final evaluation subscribe.
// Every hook is optional and may be async (what it returns is awaited, then
// ignored); the loop awaits each in turn, in
// the order the callbacks were given.
import type { MetricsRecord } from "./metrics.ts";
import type { Run } from "./run.ts";
import type { RunFolder } from "./run_folder.ts";

/** What a callback may read when the loop starts. */
export interface TrainContext {
  run: Run;
  folder: RunFolder;
  /** Optimizer steps already done (a resumed run's checkpoint step; 0 when fresh). */
  startStep: number;
  totalSteps: number;
  /**
   * Emits an event to every callback of the run, in their order (how the
   * checkpointer announces onCheckpoint).
   */
  emit: Emit;
}

/** emit() bound to a run's callbacks. */
export type Emit = <K extends keyof Callback>(
  hook: K,
  ...args: Parameters<NonNullable<Callback[K]>>
) => Promise<void>;

/**
 * A moment the loop has made the training state consistent and a checkpoint
 * is due (onCheckpointDue): every --checkpoint-every steps and at each epoch
 * end before the last step, then once when the loop ends (done, or stopped).
 */
export interface CheckpointDue {
  /** Optimizer steps done: the step the state is at. */
  step: number;
  /** The run whose state it is (run.ts's captureState reads it). */
  run: Run;
  folder: RunFolder;
  /** true: the loop's last one (the run is done or was asked to stop). */
  last: boolean;
}

/** The monitor's scores at an epoch end (test split, percent). */
export interface MonitorScores {
  knnTop1: number;
  /** The online probe's top-1 (--online-probe on labelled data). */
  probeTop1?: number;
}

/** How a run ended, for onTrainEnd. */
export interface TrainEnd {
  steps: number;
  interrupted: boolean;
}

export interface Callback {
  /** Before the first step (fresh or resumed). */
  onTrainStart?(ctx: TrainContext): unknown;
  /** A line for the user (what is being trained, on what). */
  onMessage?(line: string): unknown;
  /** After each logged step: its metrics record (the monitor's scores on epoch ends). */
  onLog?(m: MetricsRecord, totalSteps: number): unknown;
  /** After an epoch's last step (`scores` when the monitor ran). */
  onEpochEnd?(epoch: number, scores: MonitorScores | null): unknown;
  /**
   * The state at `due.step` is consistent and a checkpoint is due: the
   * checkpointer (checkpointer.ts, first of the callbacks) writes it.
   */
  onCheckpointDue?(due: CheckpointDue): unknown;
  /** After a checkpoint was written (its folder; announced by the checkpointer). */
  onCheckpoint?(dir: string): unknown;
  /** After the last step and the final checkpoint and encoder file. */
  onTrainEnd?(end: TrainEnd): unknown;
  /** Releases what the callback holds (files); called once, also when training failed. */
  close?(): unknown;
}

/** Calls `hook` of every callback that has it, in order, awaiting each. */
export async function emit<K extends keyof Callback>(
  callbacks: readonly Callback[],
  hook: K,
  ...args: Parameters<NonNullable<Callback[K]>>
): Promise<void> {
  for (const c of callbacks) {
    const f = c[hook] as ((...a: unknown[]) => unknown) | undefined;
    if (f !== undefined) await f.apply(c, args);
  }
}
