// The basic layers, each a thin Module over one functional op.
import type { Tensor } from "../../ffi/tensor.ts";
import { full, ones, zeros } from "../../ffi/creation.ts";
import * as F from "../../ffi/functional.ts";
import * as A from "../../ffi/args.ts";
import { Module } from "./module.ts";
import { defaultBias, defaultWeight } from "./init.ts";

type Pair = number | [number, number];

export class Linear extends Module {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean } = {},
  ) {
    super();
    const sig = "nn.Linear(inFeatures, outFeatures, options)";
    A.nonNegInt(sig, "inFeatures", inFeatures);
    A.nonNegInt(sig, "outFeatures", outFeatures);
    A.options(sig, opts, ["bias"]);
    A.optBool(sig, "options.bias", opts.bias);
    this.registerParameter("weight", defaultWeight([outFeatures, inFeatures]));
    this.registerParameter(
      "bias",
      opts.bias === false ? null : defaultBias(outFeatures, inFeatures),
    );
  }
  get weight(): Tensor {
    return this.param("weight")!;
  }
  get bias(): Tensor | null {
    return this.param("bias");
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

const CONV2D_KEYS = ["stride", "padding", "dilation", "groups", "bias"] as const;

export class Conv2d extends Module {
  readonly opts: Required<Omit<Conv2dOptions, "bias">>;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: Pair,
    opts: Conv2dOptions = {},
  ) {
    super();
    const sig = "nn.Conv2d(inChannels, outChannels, kernelSize, options)";
    A.posInt(sig, "inChannels", inChannels);
    A.posInt(sig, "outChannels", outChannels);
    A.pair(sig, "kernelSize", kernelSize);
    A.options(sig, opts, CONV2D_KEYS);
    A.optPair(sig, "options.stride", opts.stride);
    A.optPair(sig, "options.padding", opts.padding);
    A.optPair(sig, "options.dilation", opts.dilation);
    if (opts.groups !== undefined) A.posInt(sig, "options.groups", opts.groups);
    A.optBool(sig, "options.bias", opts.bias);
    const [kh, kw] = typeof kernelSize === "number" ? [kernelSize, kernelSize] : kernelSize;
    const groups = opts.groups ?? 1;
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new RangeError(
        `Conv2d: channels (${inChannels}, ${outChannels}) must divide by groups ${groups}`,
      );
    }
    this.opts = {
      stride: opts.stride ?? 1,
      padding: opts.padding ?? 0,
      dilation: opts.dilation ?? 1,
      groups,
    };
    const shape = [outChannels, inChannels / groups, kh, kw];
    this.registerParameter("weight", defaultWeight(shape));
    this.registerParameter(
      "bias",
      opts.bias === false ? null : defaultBias(outChannels, (inChannels / groups) * kh * kw),
    );
  }
  get weight(): Tensor {
    return this.param("weight")!;
  }
  get bias(): Tensor | null {
    return this.param("bias");
  }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, this.opts);
  }
}

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}

const BATCH_NORM_KEYS = ["eps", "momentum", "affine", "trackRunningStats"] as const;

/**
 * Shared by BatchNorm1d, BatchNorm2d and SyncBatchNorm (PyTorch's _BatchNorm):
 * PyTorch's parameters, buffers and update rule.
 */
export abstract class BatchNormBase extends Module {
  readonly eps: number;
  readonly momentum: number;
  constructor(readonly numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    const sig = `nn.${new.target.name}(numFeatures, options)`;
    A.posInt(sig, "numFeatures", numFeatures);
    A.options(sig, opts, BATCH_NORM_KEYS);
    A.optFinite(sig, "options.eps", opts.eps);
    A.optFinite(sig, "options.momentum", opts.momentum);
    A.optBool(sig, "options.affine", opts.affine);
    A.optBool(sig, "options.trackRunningStats", opts.trackRunningStats);
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    const affine = opts.affine ?? true;
    this.registerParameter("weight", affine ? ones([numFeatures]) : null);
    this.registerParameter("bias", affine ? zeros([numFeatures]) : null);
    const track = opts.trackRunningStats ?? true;
    this.registerBuffer("running_mean", track ? zeros([numFeatures]) : null);
    this.registerBuffer("running_var", track ? ones([numFeatures]) : null);
    this.registerBuffer("num_batches_tracked", track ? full([], 0, { dtype: "int64" }) : null);
  }
  get weight(): Tensor | null {
    return this.param("weight");
  }
  get bias(): Tensor | null {
    return this.param("bias");
  }
  get runningMean(): Tensor | null {
    return this.buffer("running_mean");
  }
  get runningVar(): Tensor | null {
    return this.buffer("running_var");
  }
  protected abstract checkInput(x: Tensor): void;
  forward(x: Tensor): Tensor {
    this.checkInput(x);
    const tracked = this.runningMean !== null;
    return F.batchNorm(x, {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      numBatchesTracked: this.buffer("num_batches_tracked"),
      // Without running stats, BatchNorm always normalises with batch statistics.
      training: this.training || !tracked,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}

export class BatchNorm1d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    const nd = x.ndim;
    if (nd !== 2 && nd !== 3) {
      throw new RangeError(`BatchNorm1d expects a 2-D or 3-D input, got ${nd}-D [${x.shape}]`);
    }
  }
}

export class BatchNorm2d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4) {
      throw new RangeError(`BatchNorm2d expects a 4-D (N, C, H, W) input, got [${x.shape}]`);
    }
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    // A view (a new handle on the same data, autograd intact), so callers may
    // free the result as they free any other layer's output.
    return x.view(x.shape);
  }
}

export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    A.int("nn.Flatten(startDim, endDim)", "startDim", startDim);
    A.int("nn.Flatten(startDim, endDim)", "endDim", endDim);
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly opts: { stride?: Pair; padding?: Pair; ceilMode?: boolean } = {},
  ) {
    super();
    const sig = "nn.MaxPool2d(kernelSize, options)";
    A.pair(sig, "kernelSize", kernelSize);
    A.options(sig, opts, ["stride", "padding", "ceilMode"]);
    A.optPair(sig, "options.stride", opts.stride);
    A.optPair(sig, "options.padding", opts.padding);
    A.optBool(sig, "options.ceilMode", opts.ceilMode);
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.opts);
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
    A.pair("nn.AdaptiveAvgPool2d(outputSize)", "outputSize", outputSize);
  }
  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }
}

/** Children named "0", "1", ... as torch.nn.Sequential; forward chains them. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => {
      if (!(m instanceof Module)) {
        throw A.typeError("nn.Sequential(...modules)", `modules[${i}]`, "a Module", m);
      }
    });
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const next = this.layers[i].forward(h);
      // Free intermediates as soon as the next layer has them (autograd keeps
      // what it saved); the input belongs to the caller.
      if (h !== x) h.dispose();
      h = next;
    }
    return h === x ? x.view(x.shape) : h;
  }
}
