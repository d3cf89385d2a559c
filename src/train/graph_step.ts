// The run's step object: eager (step.ts's trainStep, every op issued from the
// host) or, with --cuda-graphs, the whole step captured once in a CUDA graph
// and replayed: the batch gathered on the device from the epoch's order, the
// two views drawn from a generator registered with the graph, forward,
// backward, the capturable optimizer and the method's update (BYOL's EMA).
// What changes from step to step lives in device tensors written before each
// replay (the batch's place in the epoch's order, the lr, the method's values
// such as tau); the loss is a static tensor read only when the loop logs.
import { capture as captureGraph, CUDAGraph, withSideStream } from "../../ffi/cuda_graph.ts";
import { arange, tensor, zeros } from "../../ffi/creation.ts";
import { fillScalars, TensorList } from "../../ffi/lists.ts";
import { tidy } from "../../ffi/memory.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import { forwardBackward, type StepResult, trainStep } from "./step.ts";
import type { Run } from "./run.ts";

/**
 * Eager steps before the capture (torch.cuda.graphs' recipe: on a side
 * stream): cuDNN's autotuner, the optimizer's state and the allocator's pools
 * settle, and SGD's momentum buffers take their first copy eagerly.
 */
export const WARMUP_STEPS = 3;

/** What the trainer calls once per optimizer step. */
export interface StepRunner extends Disposable {
  /** Optimizer step number `step` (0-based); reads the loss back when `readLoss`. */
  run(step: number, readLoss: boolean): StepResult;
  /** Whether the step is (or will be, after the warm-up) replayed from a CUDA graph. */
  readonly graphed: boolean;
}

/** The step object of `run`: captured when run.graphs.on (see cuda_graphs.ts), else eager. */
export function createStepRunner(run: Run): StepRunner {
  if (run.graphs.on) return new GraphedStep(run);
  return {
    graphed: false,
    run: (step, readLoss) => trainStep(run, step, readLoss),
    [Symbol.dispose]() {},
  };
}

/**
 * The captured step, with its static inputs and outputs. `capture: false` runs
 * the same body eagerly each step instead of replaying it (the static inputs,
 * the capturable optimizer and the method's device update, without the
 * graph): how a machine without CUDA checks it against the eager step.
 */
export class GraphedStep implements StepRunner {
  readonly graphed: boolean;
  readonly #run: Run;
  readonly #capture: boolean;
  #graph: CUDAGraph | null = null;
  #warm = 0;
  /** The epoch's order of dataset indices (int64, on the device), rewritten once an epoch. */
  readonly #order: Tensor;
  #orderEpoch = -1;
  /** 0..B-1 (int64): the batch's positions, shifted by #offset into the order. */
  readonly #positions: Tensor;
  /** The batch's first position in the epoch's order (0-dim int64). */
  readonly #offset: Tensor;
  /** The method's step values (BYOL's tau), 0-dim float64, by name. */
  readonly #values: Record<string, Tensor>;
  readonly #names: string[];
  /** #offset then the values, written in one call before each replay. */
  readonly #scalars: TensorList;
  #loss: Tensor | null = null;
  #probeLoss: Tensor | null = null;

  constructor(run: Run, opts: { capture?: boolean } = {}) {
    if (run.cfg.accumulateGradBatches !== 1 || run.world.worldSize !== 1) {
      throw new Error(
        "GraphedStep: a captured step takes one batch in one process (cuda_graphs.ts decides)",
      );
    }
    this.#run = run;
    this.#capture = opts.capture ?? true;
    this.graphed = this.#capture;
    const device = run.device;
    this.#order = zeros([run.loader.length], { dtype: "int64", device }).keep();
    this.#positions = arange(run.cfg.batchSize, { dtype: "int64", device }).keep();
    this.#offset = zeros([], { dtype: "int64", device }).keep();
    this.#names = Object.keys(run.method.stepValues(0, run.schedule.allSteps));
    this.#values = Object.fromEntries(
      this.#names.map((k) => [k, zeros([], { dtype: "float64", device }).keep()]),
    );
    this.#scalars = new TensorList([this.#offset, ...this.#names.map((k) => this.#values[k])], {
      label: "the captured step's scalars",
      item: "scalar",
    });
  }

  run(step: number, readLoss: boolean): StepResult {
    const run = this.#run;
    if (this.#warm < WARMUP_STEPS) {
      this.#warm++;
      if (!this.#capture) return trainStep(run, step, readLoss);
      return withSideStream(run.device, () => trainStep(run, step, readLoss));
    }
    const { lr, values } = this.#prepare(step);
    if (!this.#capture) {
      this.#releaseOutputs();
      run.optimizer.zeroGrad();
      this.#keepOutputs(this.#body());
    } else {
      if (this.#graph === null) this.#captureOnce();
      this.#graph!.replay();
    }
    const metrics: Record<string, number> = { ...values };
    if (readLoss && this.#probeLoss !== null) metrics.probeLoss = this.#probeLoss.item();
    return { loss: readLoss ? this.#loss!.item() : NaN, lr, metrics };
  }

  /** Writes step `step`'s inputs: the epoch's order (once an epoch), the lr, the scalars. */
  #prepare(step: number): { lr: number; values: Record<string, number> } {
    const run = this.#run;
    const { schedule, loader, cfg } = run;
    const epoch = Math.floor(step / schedule.stepsPerEpoch);
    const inEpoch = step - epoch * schedule.stepsPerEpoch;
    if (epoch !== this.#orderEpoch) {
      tidy(() => {
        this.#order.copy_(
          tensor(loader.epochOrder(epoch), { dtype: "int64", device: run.device }),
        );
      });
      this.#orderEpoch = epoch;
    }
    const lr = schedule.lrAt(step);
    run.optimizer.setLr(lr);
    const values = run.method.stepValues(step, schedule.allSteps);
    fillScalars(
      this.#scalars,
      Float64Array.from([inEpoch * cfg.batchSize, ...this.#names.map((k) => values[k])]),
    );
    return { lr, values };
  }

  /**
   * Captures the step once: gradients dropped first (backward in the graph
   * then writes them into the graph's pool, replay after replay), the
   * augmentation generator registered so every replay draws fresh views.
   */
  #captureOnce(): void {
    const run = this.#run;
    run.optimizer.zeroGrad();
    const graph = new CUDAGraph();
    try {
      graph.registerGenerator(run.generator);
      captureGraph(graph, run.device, () => this.#keepOutputs(this.#body()));
    } catch (e) {
      graph.dispose();
      this.#releaseOutputs();
      // The capture wrote gradients into a pool it no longer owns.
      run.optimizer.zeroGrad();
      throw e;
    }
    this.#graph = graph;
  }

  /**
   * The step as captured: the batch gathered on the device from the epoch's
   * order at #offset, its views, forward and backward (step.ts), the
   * optimizer and the method's update from #values. No host read.
   */
  #body(): { loss: Tensor; probeLoss: Tensor | null } {
    const run = this.#run;
    return tidy(() => {
      const at = this.#positions.add(this.#offset);
      const idx = this.#order.indexSelect(0, at);
      const images = run.loader.images.indexSelect(0, idx);
      const labels = run.loader.labels?.indexSelect(0, idx) ?? null;
      const out = forwardBackward(run, images, labels, { offset: 0, total: run.cfg.batchSize });
      run.optimizer.step();
      run.method.afterStepFrom(this.#values);
      return out;
    });
  }

  #keepOutputs(r: { loss: Tensor; probeLoss: Tensor | null }): void {
    this.#loss = r.loss.keep();
    this.#probeLoss = r.probeLoss?.keep() ?? null;
  }

  #releaseOutputs(): void {
    this.#loss?.dispose();
    this.#probeLoss?.dispose();
    this.#loss = this.#probeLoss = null;
  }

  [Symbol.dispose](): void {
    this.#graph?.dispose();
    this.#graph = null;
    this.#releaseOutputs();
    for (const t of [this.#order, this.#positions, this.#offset, ...Object.values(this.#values)]) {
      t.dispose();
    }
  }
}
