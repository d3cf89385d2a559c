// The training loop's events and their subscribers, as Lightning's callbacks
// are to its Trainer: the loop (trainer.ts) emits, and metrics.jsonl, the
// TensorBoard event files (loggers/), the progress bar and the plots subscribe.
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
  /** After a checkpoint was written (its folder). */
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
