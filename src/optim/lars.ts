// LARS as BYOL uses it (DeepMind's reference): u = g + wd*p, scaled by
// eta*||p||/||u||, then heavy-ball momentum. Biases and normalisation
// parameters are excluded from both decay and adaptation.
import type { Tensor } from "../../ffi/tensor.ts";
import { larsStep, larsStepCapturable, type TensorList } from "../../ffi/lists.ts";
import {
  type BaseOptions,
  type CapturableOption,
  checkNonNegative,
  checkOptions,
  Optimizer,
  optimSig,
  type Params,
} from "./optimizer.ts";
import * as A from "../../ffi/args.ts";

export interface LARSOptions extends BaseOptions {
  momentum: number;
  /** eta in eta*||p||/||u||. */
  trustCoefficient: number;
  nesterov: boolean;
  /** false excludes the whole group from decay and adaptation. */
  lars: boolean;
}

/** Which parameters get no decay and no adaptation; default: every parameter of at most 1 dim. */
export type LARSExclude = (name: string, param: Tensor) => boolean;

/** `capturable` (CapturableOption): the lr lives in a device tensor. */
export type LARSInit =
  & Partial<LARSOptions>
  & CapturableOption
  & { lr: number; exclude?: LARSExclude };

/** Excludes biases and normalisation parameters: every tensor of at most one dimension. */
export const excludeOneDim: LARSExclude = (_name, p) => p.ndim <= 1;

const LARS_KEYS = [
  "lr",
  "weightDecay",
  "momentum",
  "trustCoefficient",
  "nesterov",
  "lars",
  "exclude",
  "capturable",
] as const;

export class LARS extends Optimizer<LARSOptions> {
  readonly #bufs: TensorList[];
  /** Per group: 1 = excluded from decay and adaptation. Fixed at construction. */
  readonly #exclude: Uint8Array[];

  constructor(params: Params<LARSOptions>, opts: LARSInit) {
    checkOptions("LARS", opts, LARS_KEYS, true);
    if (opts.exclude !== undefined) A.func(optimSig("LARS"), "options.exclude", opts.exclude);
    super("LARS", params, {
      lr: opts.lr,
      weightDecay: opts.weightDecay ?? 0,
      momentum: opts.momentum ?? 0.9,
      trustCoefficient: opts.trustCoefficient ?? 1e-3,
      nesterov: opts.nesterov ?? false,
      lars: opts.lars ?? true,
    }, { capturable: opts.capturable });
    const exclude = opts.exclude ?? excludeOneDim;
    for (const g of this.paramGroups) {
      checkNonNegative("LARS", "momentum", g.momentum);
      checkNonNegative("LARS", "trustCoefficient", g.trustCoefficient);
    }
    this.#exclude = this.paramGroups.map((g) => {
      const a = new Uint8Array(Math.max(g.params.length, 1));
      g.params.forEach((p, i) => a[i] = !g.lars || exclude(g.names[i], p) ? 1 : 0);
      return a;
    });
    this.#bufs = this.createState("momentum_buffer");
  }

  /** Whether parameter `i` of group `group` is excluded from decay and adaptation. */
  isExcluded(group: number, i: number): boolean {
    return this.#exclude[group][i] === 1;
  }

  step(): void {
    this.assertUsable();
    this.paramGroups.forEach((g, i) => {
      if (g.params.length === 0) return;
      if (this.capturable) {
        larsStepCapturable(
          this.paramLists[i],
          this.#bufs[i],
          this.#exclude[i],
          this.lrTensor(i),
          g,
        );
      } else {
        larsStep(this.paramLists[i], this.#bufs[i], this.#exclude[i], g);
      }
    });
  }

  protected override fixedOptions(): readonly string[] {
    return ["lars"];
  }
}
