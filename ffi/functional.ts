// torch.nn.functional over the shim, with PyTorch's argument names in options.
import { lib } from "./library.ts";
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

function pair(v: Pair, into: BigInt64Array): BigInt64Array {
  const [a, b] = typeof v === "number" ? [v, v] : v;
  into[0] = BigInt(a);
  into[1] = BigInt(b);
  return into;
}

export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return wrap("tt_linear", lib.tt_linear(handleOf(x), handleOf(weight), handleOfOpt(bias), OUT));
}

export function conv2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  opts: { stride?: Pair; padding?: Pair; dilation?: Pair; groups?: number } = {},
): Tensor {
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
  const [h, w] = typeof outputSize === "number" ? [outputSize, outputSize] : outputSize;
  return wrap("tt_adaptive_avg_pool2d", lib.tt_adaptive_avg_pool2d(handleOf(x), h, w, OUT));
}

export function relu(x: Tensor): Tensor {
  return x.relu();
}

export function crossEntropy(
  logits: Tensor,
  target: Tensor,
  opts: { reduction?: "none" | "mean" | "sum"; labelSmoothing?: number } = {},
): Tensor {
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
  return wrap(
    "tt_normalize",
    lib.tt_normalize(handleOf(x), opts.p ?? 2, opts.dim ?? 1, opts.eps ?? 1e-12, OUT),
  );
}

export function softmax(x: Tensor, dim: number): Tensor {
  return x.softmax(dim);
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  return x.logSoftmax(dim);
}

export function affineGrid(
  theta: Tensor,
  size: number[],
  opts: { alignCorners?: boolean } = {},
): Tensor {
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
