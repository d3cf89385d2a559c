// The SyncBatchNorm cases of tests/distributed/sync_batchnorm_test.ts: the
// same float64 data built from one seed in the test (BatchNorm over the whole
// batch, one process) and in each rank (SyncBatchNorm over its slice).
import { manualSeed } from "../../ffi/runtime.ts";
import { randn } from "../../ffi/creation.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import { BatchNorm1d, BatchNorm2d, type BatchNormBase } from "../../src/nn/layers.ts";
import { SyncBatchNorm } from "../../src/nn/sync_batchnorm.ts";
import { noGrad } from "../../ffi/runtime.ts";

export interface BnCase {
  name: string;
  /** The global batch's shape. */
  shape: number[];
  /** Each rank's local batch size, in rank order (they sum to shape[0]). */
  split: number[];
}

export const CASES: BnCase[] = [
  { name: "2d_even", shape: [6, 5], split: [3, 3] },
  { name: "4d_even", shape: [4, 3, 5, 4], split: [2, 2] },
  { name: "4d_uneven", shape: [5, 3, 4, 3], split: [1, 4] },
];

/** Two global input batches, the loss weighting and the affine parameters, float64. */
export function caseData(
  c: BnCase,
): { xs: Tensor[]; weighting: Tensor[]; weight: Tensor; bias: Tensor } {
  manualSeed(1234 + c.shape.length);
  const ch = c.shape[1];
  return noGrad(() => {
    const xs = [0, 1].map((k) => {
      using r = randn(c.shape, { dtype: "float64" });
      using scaled = r.mul(1.5 + k);
      return scaled.add(0.7 - 2 * k); // a non-zero mean
    });
    const weighting = [0, 1].map(() => randn(c.shape, { dtype: "float64" }));
    using rw = randn([ch], { dtype: "float64" });
    const weight = rw.add(1);
    const bias = randn([ch], { dtype: "float64" });
    return { xs, weighting, weight, bias };
  });
}

/** A BatchNorm (or SyncBatchNorm) for the case, float64, with the case's weight and bias. */
export function makeBn(c: BnCase, sync: boolean): BatchNormBase {
  const ch = c.shape[1];
  const bn = sync
    ? new SyncBatchNorm(ch)
    : c.shape.length === 2
    ? new BatchNorm1d(ch)
    : new BatchNorm2d(ch);
  bn.to("cpu", "float64");
  const d = caseData(c);
  noGrad(() => {
    bn.weight!.copy_(d.weight);
    bn.bias!.copy_(d.bias);
  });
  return bn;
}

export interface BnResult {
  y: number[][];
  xGrad: number[][];
  weightGrad: number[];
  biasGrad: number[];
  runningMean: number[];
  runningVar: number[];
  numBatchesTracked: number;
  yEval: number[];
}

function values(t: Tensor): number[] {
  return Array.from(t.toTypedArray() as Float64Array);
}

/**
 * Two training steps (forward of batch k's rows [start, start + n), loss
 * sum(y * weighting), backward, gradients accumulated), then an eval forward
 * of batch 0's rows.
 */
export function runBn(c: BnCase, bn: BatchNormBase, start: number, n: number): BnResult {
  const d = caseData(c);
  const y: number[][] = [];
  const xGrad: number[][] = [];
  bn.train();
  for (let k = 0; k < 2; k++) {
    using xSlice = d.xs[k].narrow(0, start, n);
    using x = xSlice.clone();
    x.requiresGrad_(true);
    using wSlice = d.weighting[k].narrow(0, start, n);
    using out = bn.forward(x);
    using prod = out.mul(wSlice);
    using loss = prod.sum();
    loss.backward();
    y.push(values(out));
    xGrad.push(values(x.grad!));
  }
  bn.eval();
  using x0 = d.xs[0].narrow(0, start, n);
  using yEval = noGrad(() => bn.forward(x0));
  return {
    y,
    xGrad,
    weightGrad: values(bn.weight!.grad!),
    biasGrad: values(bn.bias!.grad!),
    runningMean: values(bn.runningMean!),
    runningVar: values(bn.runningVar!),
    numBatchesTracked: Number(
      bn.namedBuffers().find(([k]) => k === "num_batches_tracked")![1].item(),
    ),
    yEval: values(yEval),
  };
}

/** A rank's part of every case: SyncBatchNorm over its slice of the global batch. */
export function syncbnRank(
  rank: number,
  emit: (o: Record<string, unknown>) => void,
): void {
  for (const c of CASES) {
    const start = c.split.slice(0, rank).reduce((a, b) => a + b, 0);
    emit({ key: c.name, value: runBn(c, makeBn(c, true), start, c.split[rank]) });
  }
}
