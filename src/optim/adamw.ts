// torch.optim.AdamW (decoupled weight decay), as PyTorch 1.13 computes it.
import { adamwStep, adamwStepCapturable, type TensorList } from "../../ffi/lists.ts";
import * as A from "../../ffi/args.ts";
import {
  type BaseOptions,
  type CapturableOption,
  checkNonNegative,
  checkOptions,
  flatValues,
  loadFlatValues,
  Optimizer,
  type OptimizerMeta,
  optimSig,
  type Params,
} from "./optimizer.ts";

export interface AdamWOptions extends BaseOptions {
  beta1: number;
  beta2: number;
  eps: number;
}

/**
 * Options as given: `betas: [b1, b2]` as in PyTorch, or beta1 / beta2;
 * `capturable` (CapturableOption) keeps the lr and the step counts on the device.
 */
export type AdamWInit =
  & Partial<AdamWOptions>
  & CapturableOption
  & { lr?: number; betas?: [number, number] };

const ADAMW_KEYS = ["lr", "weightDecay", "beta1", "beta2", "betas", "eps", "capturable"] as const;

/** AdamW with torch.optim.AdamW's defaults (lr 1e-3, betas 0.9/0.999, eps 1e-8, wd 1e-2). */
export class AdamW extends Optimizer<AdamWOptions> {
  readonly #expAvg: TensorList[];
  readonly #expAvgSq: TensorList[];
  /** Per group: each parameter's step count (the shim increments it). */
  readonly #steps: BigInt64Array[];
  /**
   * capturable: per group, each parameter's step count as a 0-dim float32
   * device tensor (torch.optim's state_steps), incremented on the device.
   */
  readonly #stepTensors: TensorList[] | null;

  constructor(params: Params<AdamWOptions>, opts: AdamWInit = {}) {
    checkOptions("AdamW", opts, ADAMW_KEYS, false);
    if (opts.betas !== undefined && !(Array.isArray(opts.betas) && opts.betas.length === 2)) {
      throw A.typeError(optimSig("AdamW"), "options.betas", "a pair [beta1, beta2]", opts.betas);
    }
    super("AdamW", params, {
      lr: opts.lr ?? 1e-3,
      weightDecay: opts.weightDecay ?? 1e-2,
      beta1: opts.beta1 ?? opts.betas?.[0] ?? 0.9,
      beta2: opts.beta2 ?? opts.betas?.[1] ?? 0.999,
      eps: opts.eps ?? 1e-8,
    }, { capturable: opts.capturable });
    for (const g of this.paramGroups) {
      checkNonNegative("AdamW", "eps", g.eps);
      for (const b of [g.beta1, g.beta2]) {
        if (!(b >= 0 && b < 1)) {
          throw A.rangeError(optimSig("AdamW"), "options.betas", "in [0, 1)", b);
        }
      }
    }
    this.#expAvg = this.createState("exp_avg");
    this.#expAvgSq = this.createState("exp_avg_sq");
    this.#steps = this.paramGroups.map((g) => new BigInt64Array(Math.max(g.params.length, 1)));
    this.#stepTensors = this.capturable ? this.createScalars("step") : null;
  }

  step(): void {
    this.assertUsable();
    if (this.#stepTensors !== null) return this.#stepCapturable(this.#stepTensors);
    this.paramGroups.forEach((g, i) => {
      if (g.params.length === 0) return;
      adamwStep(this.paramLists[i], this.#expAvg[i], this.#expAvgSq[i], this.#steps[i], g);
    });
  }

  /** One FFI call per group; no host read of a device value. */
  #stepCapturable(steps: TensorList[]): void {
    this.paramGroups.forEach((g, i) => {
      if (g.params.length === 0) return;
      adamwStepCapturable(
        this.paramLists[i],
        this.#expAvg[i],
        this.#expAvgSq[i],
        steps[i],
        this.lrTensor(i),
        g,
      );
    });
  }

  /** meta.steps: the same list of integers in both modes (capturable reads the device). */
  protected override metaState(): Record<string, unknown> {
    if (this.capturable) return { steps: this.readScalarState("step") };
    return { steps: flatValues(this.#trimmed()) };
  }

  protected override loadMetaState(meta: OptimizerMeta): void {
    if (this.capturable) {
      const values = new Float64Array(this.paramGroups.reduce((n, g) => n + g.params.length, 0));
      loadFlatValues("AdamW", "steps", meta.steps, [values]);
      this.writeScalarState("step", values);
      return;
    }
    loadFlatValues("AdamW", "steps", meta.steps, this.#trimmed());
  }

  #trimmed(): BigInt64Array[] {
    return this.#steps.map((a, i) => a.subarray(0, this.paramGroups[i].params.length));
  }
}
