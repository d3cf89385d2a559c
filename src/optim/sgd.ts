// torch.optim.SGD: momentum, dampening, Nesterov, L2 weight decay.
import { sgdStep, sgdStepCapturable, type TensorList } from "../../ffi/lists.ts";
import {
  type BaseOptions,
  type CapturableOption,
  checkNonNegative,
  checkOptions,
  flatValues,
  loadFlatValues,
  Optimizer,
  type OptimizerMeta,
  type Params,
} from "./optimizer.ts";

export interface SGDOptions extends BaseOptions {
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

const SGD_KEYS = ["lr", "weightDecay", "momentum", "dampening", "nesterov", "capturable"] as const;

/** Stochastic gradient descent with torch.optim.SGD's semantics and state. */
export class SGD extends Optimizer<SGDOptions> {
  readonly #bufs: TensorList[];
  readonly #hasBufs: boolean;
  /** Per group: 1 once a parameter's momentum buffer holds a value (the shim sets it). */
  readonly #inited: Uint8Array[];

  /**
   * `capturable` (CapturableOption): the lr lives in a device tensor. The first
   * step's momentum-buffer copy stays a host flag, set by that step: capture
   * only after at least one eager step.
   */
  constructor(
    params: Params<SGDOptions>,
    opts: Partial<SGDOptions> & CapturableOption & { lr: number },
  ) {
    checkOptions("SGD", opts, SGD_KEYS, true);
    super("SGD", params, {
      lr: opts.lr,
      weightDecay: opts.weightDecay ?? 0,
      momentum: opts.momentum ?? 0,
      dampening: opts.dampening ?? 0,
      nesterov: opts.nesterov ?? false,
    }, { capturable: opts.capturable });
    for (const g of this.paramGroups) {
      checkNonNegative("SGD", "momentum", g.momentum);
      if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
        throw new RangeError("SGD: Nesterov momentum requires a momentum and zero dampening");
      }
    }
    // Without momentum anywhere there is no state: the shim never reads bufs
    // then, so the params' own array stands in (step() guards a later change).
    this.#hasBufs = this.paramGroups.some((g) => g.momentum !== 0);
    this.#bufs = this.#hasBufs ? this.createState("momentum_buffer") : this.paramLists;
    this.#inited = this.paramGroups.map((g) => new Uint8Array(Math.max(g.params.length, 1)));
  }

  step(): void {
    this.assertUsable();
    this.paramGroups.forEach((g, i) => {
      if (g.params.length === 0) return;
      if (g.momentum !== 0 && !this.#hasBufs) {
        throw new TypeError("SGD: momentum was set after construction without momentum buffers");
      }
      if (this.capturable) {
        sgdStepCapturable(this.paramLists[i], this.#bufs[i], this.#inited[i], this.lrTensor(i), g);
      } else {
        sgdStep(this.paramLists[i], this.#bufs[i], this.#inited[i], g);
      }
    });
  }

  protected override metaState(): Record<string, unknown> {
    return { inited: flatValues(this.#trimmed()) };
  }

  protected override loadMetaState(meta: OptimizerMeta): void {
    loadFlatValues("SGD", "inited", meta.inited, this.#trimmed());
  }

  #trimmed(): Uint8Array[] {
    return this.#inited.map((a, i) => a.subarray(0, this.paramGroups[i].params.length));
  }
}
