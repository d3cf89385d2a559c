// The method seam: what a self-supervised method (BYOL, SimSiam, ...) is to the
// training loop, as Lightning's LightningModule is to its Trainer. The run,
// the step, DistributedDataParallel, the checkpoint, the metrics and the final
// evaluation talk to this interface only; a method's own file holds its
// networks, its loss and what it updates after each optimizer step.
import type { Tensor } from "../../ffi/tensor.ts";
import * as A from "../../ffi/args.ts";
import { cat } from "../../ffi/creation.ts";
import { StateDictError } from "../nn/module.ts";
import type { Module } from "../nn/module.ts";

/** An encoder: any module mapping images to (N, outDim) features. */
export interface Encoder extends Module {
  readonly outDim: number;
}

/**
 * Where every method's stateDict() holds its encoder: the network trained by
 * gradient is "online", and its encoder is what export, evaluate and the
 * encoder file carry (checkpoints store a method's state under its own keys).
 */
export const ENCODER_PREFIX = "online.encoder.";

/** What a method's training forward gives the step. */
export interface MethodOutput {
  loss: Tensor;
  features: Tensor;
}

export interface Method {
  /** The registry's name ("byol", "simsiam"). */
  readonly name: string;
  /** The encoder being pretrained: the one exported and evaluated. */
  readonly encoder: Encoder;
  /**
   * The training forward for two batches of views (N, C, H, W) of the same
   * images: the method's loss (a scalar) and the encoder's features of both
   * views (2N, D: view 1's then view 2's, in the autograd graph; the online
   * probe detaches them).
   */
  forward(view1: Tensor, view2: Tensor): MethodOutput;
  /** forward()'s loss alone. */
  loss(view1: Tensor, view2: Tensor): Tensor;
  /**
   * Called after each optimizer step (`step` 0-based, of `allSteps`): updates
   * whatever the method keeps besides the optimizer's parameters (BYOL's EMA
   * target) and returns the method's own metrics for the step ({ tau } for
   * BYOL, {} for a method with none). Logged and plotted by name.
   */
  afterStep(step: number, allSteps: number): Record<string, number>;
  /**
   * afterStep split in two for a step captured in a CUDA graph: the host
   * values of step `step` (the metrics afterStep returns, BYOL's { tau }),
   * which the step writes into 0-dim float64 device tensors before each
   * replay, ...
   */
  stepValues(step: number, allSteps: number): Record<string, number>;
  /**
   * ... and the update reading them from those tensors (captured: no host
   * read, no host branch on their values). afterStep(step, n) must equal
   * stepValues(step, n) then afterStepFrom of those values on the device.
   */
  afterStepFrom(values: Record<string, Tensor>): void;
  /** The tensors the optimizer trains, by name, in the same order on every rank. */
  namedParameters(): [string, Tensor][];
  /** The other state every rank must start equal in (BatchNorm buffers, a target network). */
  namedBuffers(): [string, Tensor][];
  /** Everything a resume needs, by name; the encoder under ENCODER_PREFIX. */
  stateDict(): Record<string, Tensor>;
  /** Copies a stateDict() in (strict: every key, no other, the same shapes). */
  loadStateDict(dict: Record<string, Tensor>): void;
  train(mode?: boolean): this;
  eval(): this;
  dispose(): void;
}

/** The settings a method is built from (a run's config has them). */
export interface MethodSettings {
  projectionDim: number;
  hiddenDim: number;
  /** 0: the method's own default. */
  predictorDim: number;
  tauBase: number;
}

/**
 * How a method joins the trainer: the default export of its registration file
 * (src/simsiam/registration.ts), which its one line in
 * src/train/method_registry.ts loads. The names and that line are pure data;
 * this, loaded with the method's classes, is everything else.
 */
export interface MethodRegistration {
  /** How the method is named in messages and tables ("BYOL"). */
  readonly title: string;
  /** One line: what the method is, with these settings. */
  describe(s: MethodSettings): string;
  /**
   * The settings the method's recipe sets over the preset's (a preset's values
   * were tuned for BYOL), from the preset's settings (defaults included); a
   * config file or a flag overrides them.
   */
  recipe(preset: Record<string, unknown>): Record<string, number | string>;
  /** The method over `encoder` (already on `opts.device`). */
  build(
    encoder: Encoder,
    s: MethodSettings,
    opts: { device: string; syncBatchNorm: boolean },
  ): Method;
}

/**
 * A method's loadStateDict over its parts: `parts` maps each key prefix to
 * the loader of that part (keys without the prefix). A key under no prefix is
 * refused with every such key listed; each part's loader reports its own
 * missing and mis-shaped keys (Module.loadStateDict's StateDictError).
 */
export function loadParts(
  method: string,
  dict: Record<string, Tensor>,
  parts: [prefix: string, load: (sub: Record<string, Tensor>) => void][],
): void {
  const subs = parts.map(() => ({} as Record<string, Tensor>));
  const unexpected: string[] = [];
  for (const [k, t] of Object.entries(dict)) {
    const i = parts.findIndex(([p]) => k.startsWith(p));
    if (i < 0) unexpected.push(k);
    else subs[i][k.slice(parts[i][0].length)] = t;
  }
  if (unexpected.length > 0) {
    const shown = unexpected.slice(0, 5).join(", ") + (unexpected.length > 5 ? " ..." : "");
    throw new StateDictError(
      `${method}.loadStateDict: unexpected keys: ${shown} (a ${method} state has only ` +
        `${parts.map(([p]) => p + "*").join(", ")}); was it saved by another method?`,
      [],
      unexpected,
      [],
    );
  }
  parts.forEach(([prefix, load], i) => {
    try {
      load(subs[i]);
    } catch (e) {
      if (!(e instanceof StateDictError)) throw e;
      const add = (ks: string[]) => ks.map((k) => prefix + k);
      throw new StateDictError(
        `${method}.loadStateDict, ${prefix}*: ${e.message}`,
        add(e.missing),
        add(e.unexpected),
        e.mismatched.map((m) => prefix + m),
      );
    }
  });
}

/**
 * A half-precision tensor as float32; any other as itself (a new handle, no
 * copy). Under autocast the heads return bf16: methods take their loss on
 * float32 copies, as byol-pytorch does.
 */
export function atLeastFloat32(t: Tensor): Tensor {
  const low = t.dtype === "bfloat16" || t.dtype === "float16";
  return t.to({ dtype: low ? "float32" : t.dtype });
}

/**
 * The two views of a method's forward, checked (tensors of one batch size)
 * and concatenated: every method here runs both views in one forward, so
 * BatchNorm normalises over both (as byol-pytorch does). `sig` names the call.
 */
export function bothViews(sig: string, view1: Tensor, view2: Tensor): Tensor {
  A.tensor(sig, "view1", view1);
  A.tensor(sig, "view2", view2);
  const n = view1.size(0);
  if (view2.size(0) !== n) {
    throw new RangeError(`${sig}: the two views differ in batch size: ${n} vs ${view2.size(0)}`);
  }
  return cat([view1, view2], 0);
}

/** A forward's loss alone (the features freed): what Method.loss returns. */
export function lossOnly(out: MethodOutput): Tensor {
  out.features.dispose();
  return out.loss;
}
