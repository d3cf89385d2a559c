// The rows of a bench run's table: one measurement of ours against the
// PyTorch twin (or against another of our configurations), its speed-up, the
// goal it is held to and the load average when it was taken.
import { loadavg } from "./machine.ts";

export type Better = "higher" | "lower";

export interface Row {
  benchmark: string;
  unit: string;
  ours: number;
  torch: number;
  better: Better;
  /** Speed-up: how many times faster ours is (>1: ours faster). */
  speedup: number;
  goal: number | null;
  goalText: string;
  met: boolean | null;
  load: string;
  note?: string;
}

export class Rows {
  readonly rows: Row[] = [];

  /** A row with its speed-up, whether it met `goal` (null: no goal) and the load now. */
  add(
    benchmark: string,
    unit: string,
    ours: number,
    torch: number,
    better: Better,
    goal: number | null,
    goalText: string,
    note?: string,
  ): void {
    const speedup = better === "higher" ? ours / torch : torch / ours;
    this.rows.push({
      benchmark,
      unit,
      ours,
      torch,
      better,
      speedup,
      goal,
      goalText,
      met: goal === null ? null : speedup >= goal,
      load: loadavg(),
      note,
    });
  }
}
