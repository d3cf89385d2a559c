// torch.nn.functional over the shim, with PyTorch's argument names in options.
import { lib } from "./library.ts";
import * as A from "./args.ts";
import { ints, OUT } from "./call.ts";
import { handleOf, handleOfOpt, type Tensor, wrap } from "./tensor.ts";
import {
  InterpMode as INTERP_MODE,
  PadMode as PAD_MODE,
  Reduction as REDUCTION,
  SampleMode as SAMPLE_MODE,
  SamplePadding as PADDING_MODE,
} from "./ops.ts";

type Pair = number | [number, number];

const STRIDE = new BigInt64Array(2);
const PADDING = new BigInt64Array(2);
const DILATION = new BigInt64Array(2);

// The options each op takes, for the argument checks (ffi/args.ts).
const CONV_KEYS = ["stride", "padding", "dilation", "groups"] as const;
const MAX_POOL_KEYS = ["stride", "padding", "ceilMode"] as const;
const AVG_POOL_KEYS = ["stride", "padding"] as const;
const NORMALIZE_KEYS = ["p", "dim", "eps"] as const;
const BATCH_NORM_KEYS = [
  "weight",
  "bias",
  "runningMean",
  "runningVar",
  "numBatchesTracked",
  "training",
  "momentum",
  "eps",
] as const;

function pair(v: Pair, into: BigInt64Array): BigInt64Array {
  const [a, b] = typeof v === "number" ? [v, v] : v;
  into[0] = BigInt(a);
  into[1] = BigInt(b);
  return into;
}

export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const sig = "F.linear(input, weight, bias)";
  A.tensor(sig, "input", x);
  A.tensor(sig, "weight", weight);
  A.optTensor(sig, "bias", bias);
  return wrap("tt_linear", lib.tt_linear(handleOf(x), handleOf(weight), handleOfOpt(bias), OUT));
}

export function conv2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  opts: { stride?: Pair; padding?: Pair; dilation?: Pair; groups?: number } = {},
): Tensor {
  const sig = "F.conv2d(input, weight, bias, options)";
  A.tensor(sig, "input", x);
  A.tensor(sig, "weight", weight);
  A.optTensor(sig, "bias", bias);
  A.options(sig, opts, CONV_KEYS);
  A.optPair(sig, "options.stride", opts.stride);
  A.optPair(sig, "options.padding", opts.padding);
  A.optPair(sig, "options.dilation", opts.dilation);
  A.optInt(sig, "options.groups", opts.groups);
  return wrap(
    "tt_conv2d",
    lib.tt_conv2d(
      handleOf(x),
      handleOf(weight),
      handleOfOpt(bias),
      pair(opts.stride ?? 1, STRIDE),
      pair(opts.padding ?? 0, PADDING),
      pair(opts.dilation ?? 1, DILATION),
      opts.groups ?? 1,
      OUT,
    ),
  );
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  /** Incremented by one in the same call when training (BatchNorm's counter). */
  numBatchesTracked?: Tensor | null;
  training?: boolean;
  momentum?: number;
  eps?: number;
}

export function batchNorm(x: Tensor, opts: BatchNormOptions = {}): Tensor {
  const sig = "F.batchNorm(input, options)";
  A.tensor(sig, "input", x);
  A.options(sig, opts, BATCH_NORM_KEYS);
  A.optTensor(sig, "options.weight", opts.weight);
  A.optTensor(sig, "options.bias", opts.bias);
  A.optTensor(sig, "options.runningMean", opts.runningMean);
  A.optTensor(sig, "options.runningVar", opts.runningVar);
  A.optTensor(sig, "options.numBatchesTracked", opts.numBatchesTracked);
  A.optBool(sig, "options.training", opts.training);
  A.optNum(sig, "options.momentum", opts.momentum);
  A.optNum(sig, "options.eps", opts.eps);
  return wrap(
    "tt_batch_norm",
    lib.tt_batch_norm(
      handleOf(x),
      handleOfOpt(opts.weight),
      handleOfOpt(opts.bias),
      handleOfOpt(opts.runningMean),
      handleOfOpt(opts.runningVar),
      handleOfOpt(opts.numBatchesTracked),
      opts.training ? 1 : 0,
      opts.momentum ?? 0.1,
      opts.eps ?? 1e-5,
      OUT,
    ),
  );
}

export function maxPool2d(
  x: Tensor,
  kernelSize: Pair,
  opts: { stride?: Pair; padding?: Pair; ceilMode?: boolean } = {},
): Tensor {
  const sig = "F.maxPool2d(input, kernelSize, options)";
  A.tensor(sig, "input", x);
  A.pair(sig, "kernelSize", kernelSize);
  A.options(sig, opts, MAX_POOL_KEYS);
  A.optPair(sig, "options.stride", opts.stride);
  A.optPair(sig, "options.padding", opts.padding);
  A.optBool(sig, "options.ceilMode", opts.ceilMode);
  const k = pair(kernelSize, new BigInt64Array(2));
  return wrap(
    "tt_max_pool2d",
    lib.tt_max_pool2d(
      handleOf(x),
      k,
      pair(opts.stride ?? kernelSize, STRIDE),
      pair(opts.padding ?? 0, PADDING),
      opts.ceilMode ? 1 : 0,
      OUT,
    ),
  );
}

export function avgPool2d(
  x: Tensor,
  kernelSize: Pair,
  opts: { stride?: Pair; padding?: Pair } = {},
): Tensor {
  const sig = "F.avgPool2d(input, kernelSize, options)";
  A.tensor(sig, "input", x);
  A.pair(sig, "kernelSize", kernelSize);
  A.options(sig, opts, AVG_POOL_KEYS);
  A.optPair(sig, "options.stride", opts.stride);
  A.optPair(sig, "options.padding", opts.padding);
  const k = pair(kernelSize, new BigInt64Array(2));
  return wrap(
    "tt_avg_pool2d",
    lib.tt_avg_pool2d(
      handleOf(x),
      k,
      pair(opts.stride ?? kernelSize, STRIDE),
      pair(opts.padding ?? 0, PADDING),
      OUT,
    ),
  );
}

export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  const sig = "F.adaptiveAvgPool2d(input, outputSize)";
  A.tensor(sig, "input", x);
  A.pair(sig, "outputSize", outputSize);
  const [h, w] = typeof outputSize === "number" ? [outputSize, outputSize] : outputSize;
  return wrap("tt_adaptive_avg_pool2d", lib.tt_adaptive_avg_pool2d(handleOf(x), h, w, OUT));
}

export function relu(x: Tensor): Tensor {
  A.tensor("F.relu(input)", "input", x);
  return x.relu();
}

export function crossEntropy(
  logits: Tensor,
  target: Tensor,
  opts: { reduction?: "none" | "mean" | "sum"; labelSmoothing?: number } = {},
): Tensor {
  const sig = "F.crossEntropy(input, target, options)";
  A.tensor(sig, "input", logits);
  A.tensor(sig, "target", target);
  A.options(sig, opts, ["reduction", "labelSmoothing"]);
  A.optKey(sig, "options.reduction", opts.reduction, REDUCTION);
  A.optNum(sig, "options.labelSmoothing", opts.labelSmoothing);
  return wrap(
    "tt_cross_entropy",
    lib.tt_cross_entropy(
      handleOf(logits),
      handleOf(target),
      REDUCTION[opts.reduction ?? "mean"],
      opts.labelSmoothing ?? 0,
      OUT,
    ),
  );
}

/** x / max(||x||_p, eps) along `dim` (F.normalize). */
export function normalize(
  x: Tensor,
  opts: { p?: number; dim?: number; eps?: number } = {},
): Tensor {
  const sig = "F.normalize(input, options)";
  A.tensor(sig, "input", x);
  A.options(sig, opts, NORMALIZE_KEYS);
  A.optNum(sig, "options.p", opts.p);
  A.optInt(sig, "options.dim", opts.dim);
  A.optNum(sig, "options.eps", opts.eps);
  return wrap(
    "tt_normalize",
    lib.tt_normalize(handleOf(x), opts.p ?? 2, opts.dim ?? 1, opts.eps ?? 1e-12, OUT),
  );
}

export function softmax(x: Tensor, dim: number): Tensor {
  A.tensor("F.softmax(input, dim)", "input", x);
  A.int("F.softmax(input, dim)", "dim", dim);
  return x.softmax(dim);
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  A.tensor("F.logSoftmax(input, dim)", "input", x);
  A.int("F.logSoftmax(input, dim)", "dim", dim);
  return x.logSoftmax(dim);
}

export function affineGrid(
  theta: Tensor,
  size: number[],
  opts: { alignCorners?: boolean } = {},
): Tensor {
  const sig = "F.affineGrid(theta, size, options)";
  A.tensor(sig, "theta", theta);
  A.shape(sig, "size", size);
  A.options(sig, opts, ["alignCorners"]);
  A.optBool(sig, "options.alignCorners", opts.alignCorners);
  return wrap(
    "tt_affine_grid",
    lib.tt_affine_grid(handleOf(theta), ints(size), size.length, opts.alignCorners ? 1 : 0, OUT),
  );
}

export function gridSample(
  x: Tensor,
  grid: Tensor,
  opts: {
    mode?: keyof typeof SAMPLE_MODE;
    paddingMode?: keyof typeof PADDING_MODE;
    alignCorners?: boolean;
  } = {},
): Tensor {
  const sig = "F.gridSample(input, grid, options)";
  A.tensor(sig, "input", x);
  A.tensor(sig, "grid", grid);
  A.options(sig, opts, ["mode", "paddingMode", "alignCorners"]);
  A.optKey(sig, "options.mode", opts.mode, SAMPLE_MODE);
  A.optKey(sig, "options.paddingMode", opts.paddingMode, PADDING_MODE);
  A.optBool(sig, "options.alignCorners", opts.alignCorners);
  return wrap(
    "tt_grid_sample",
    lib.tt_grid_sample(
      handleOf(x),
      handleOf(grid),
      SAMPLE_MODE[opts.mode ?? "bilinear"],
      PADDING_MODE[opts.paddingMode ?? "zeros"],
      opts.alignCorners ? 1 : 0,
      OUT,
    ),
  );
}

export function interpolate(
  x: Tensor,
  size: Pair,
  opts: { mode?: keyof typeof INTERP_MODE; alignCorners?: boolean; antialias?: boolean } = {},
): Tensor {
  const sig = "F.interpolate(input, size, options)";
  A.tensor(sig, "input", x);
  A.pair(sig, "size", size);
  A.options(sig, opts, ["mode", "alignCorners", "antialias"]);
  A.optKey(sig, "options.mode", opts.mode, INTERP_MODE);
  A.optBool(sig, "options.alignCorners", opts.alignCorners);
  A.optBool(sig, "options.antialias", opts.antialias);
  const [h, w] = typeof size === "number" ? [size, size] : size;
  return wrap(
    "tt_interpolate",
    lib.tt_interpolate(
      handleOf(x),
      h,
      w,
      INTERP_MODE[opts.mode ?? "nearest"],
      opts.alignCorners ? 1 : 0,
      opts.antialias ? 1 : 0,
      OUT,
    ),
  );
}

/** F.pad: `pads` lists (left, right, top, bottom, ...) from the last dim backwards. */
export function pad(
  x: Tensor,
  pads: number[],
  opts: { mode?: keyof typeof PAD_MODE; value?: number } = {},
): Tensor {
  const sig = "F.pad(input, pad, options)";
  A.tensor(sig, "input", x);
  A.intList(sig, "pad", pads);
  A.options(sig, opts, ["mode", "value"]);
  A.optKey(sig, "options.mode", opts.mode, PAD_MODE);
  A.optNum(sig, "options.value", opts.value);
  return wrap(
    "tt_pad",
    lib.tt_pad(
      handleOf(x),
      ints(pads),
      pads.length,
      PAD_MODE[opts.mode ?? "constant"],
      opts.value ?? 0,
      OUT,
    ),
  );
}
