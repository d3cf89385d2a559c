// One `deno task bench` run: the machine described, each selected benchmark's
// suite in turn (bench/suites/<name>.ts), and everything the report needs.
import { referencePython } from "../ffi/shim_path.ts";
import { baseParams, type BenchContext } from "./context.ts";
import { describeMachine, loadavg, type Machine } from "./machine.ts";
import { type Benchmark, BENCHMARKS, type BenchOptions } from "./options.ts";
import { type Row, Rows } from "./rows.ts";
import { Sides } from "./sides.ts";
import * as augment from "./suites/augment.ts";
import * as ddp from "./suites/ddp.ts";
import * as decode from "./suites/decode.ts";
import * as ema from "./suites/ema.ts";
import * as host from "./suites/host.ts";
import * as loader from "./suites/loader.ts";
import * as matmul from "./suites/matmul.ts";
import * as op from "./suites/op.ts";
import * as optim from "./suites/optim.ts";
import * as resnet18 from "./suites/resnet18.ts";
import * as step from "./suites/step.ts";

const SUITES: Record<Benchmark, { run(ctx: BenchContext): Promise<void> }> = {
  matmul,
  op,
  resnet18,
  ema,
  optim,
  augment,
  step,
  host,
  ddp,
  decode,
  loader,
};

/** What a run measured: the report's and the results files' content. */
export interface BenchRun {
  machine: Machine;
  loadAtEnd: string;
  rows: Row[];
  /** Each benchmark's raw results (details.step: StepDetail[]). */
  details: Record<string, unknown>;
}

export async function runBench(options: BenchOptions): Promise<BenchRun> {
  const selected = new Set(options.only);
  // The FLOP/s share of the step needs the matmul peak of the same run.
  if (selected.has("step")) selected.add("matmul");
  // --step-case runs the step even when --only leaves it out (and then without
  // the matmul peak: its FLOP/s shares are NaN).
  if (options.stepCase !== undefined) selected.add("step");
  // The PyTorch twin runs on the shim's own libtorch line (build-info's referencePython).
  const python = referencePython();
  const { threads, ompWait, quick } = options;
  const machine = await describeMachine({ threads, ompWait, python, quick });
  const ctx: BenchContext = {
    options,
    base: baseParams(quick, threads),
    sides: new Sides({ threads, ompWait, python, torchMalloc: options.torchMalloc }),
    rows: new Rows(),
    details: {},
    peakGflops: NaN,
  };
  for (const name of BENCHMARKS) {
    if (selected.has(name)) await SUITES[name].run(ctx);
  }
  return { machine, loadAtEnd: loadavg(), rows: ctx.rows.rows, details: ctx.details };
}
