// SyncBatchNorm: batch normalisation with the statistics of the whole global
// batch, across the ranks of the default process group. libtorch has no CPU
// kernels for it (batch_norm_stats, batch_norm_gather_stats_with_counts, ...
// are CUDA-only), so it is composed here from functional ops: per-channel sum,
// sum of squares and element count, packed into one float64 tensor and summed
// over the ranks by an autograd all-reduce (native/distributed.cpp's
// AllReduceSum: its backward sums the gradient over the ranks), give the
// global mean and (biased) variance in float64; the input is normalised with
// them and the running statistics take the unbiased global variance, as
// torch.nn.SyncBatchNorm does.
import type { Tensor } from "../../ffi/tensor.ts";
import { cat, full } from "../../ffi/creation.ts";
import { noGrad } from "../../ffi/runtime.ts";
import { allReduceWithGrad, getWorldSize, isInitialized } from "../distributed/group.ts";
import { BatchNorm1d, BatchNorm2d, BatchNormBase } from "./layers.ts";
import type { Module } from "./module.ts";

/**
 * torch.nn.SyncBatchNorm: the state dict of a BatchNorm (weight, bias,
 * running_mean, running_var, num_batches_tracked) and its options. In training
 * with a process group of more than one rank, the batch statistics are those
 * of the global batch (every rank's local batch, which may differ in size);
 * every rank must run the forward and the backward of each SyncBatchNorm in
 * the same order. In eval, without a group or in a world of one, it computes
 * exactly what BatchNorm computes. Takes (N, C) and (N, C, ...) inputs.
 */
export class SyncBatchNorm extends BatchNormBase {
  // No instance fields and no #private members of its own: convertSyncBatchNorm
  // turns BatchNorm objects into SyncBatchNorms in place (see there), and such
  // objects carry only BatchNorm's.
  protected checkInput(x: Tensor): void {
    if (x.ndim < 2) {
      throw new RangeError(
        `SyncBatchNorm expects an (N, C) or (N, C, ...) input, got ${x.ndim}-D [${x.shape}]`,
      );
    }
  }

  override forward(x: Tensor): Tensor {
    this.checkInput(x);
    // As PyTorch: batch statistics in training (and always without running
    // stats), synchronised only in training.
    const sync = this.training && isInitialized() && getWorldSize() > 1;
    if (!sync) return super.forward(x);
    return this.syncForward(x);
  }

  /** The training forward with the global batch's statistics. */
  protected syncForward(x: Tensor): Tensor {
    const c = x.size(1);
    if (c !== this.numFeatures) {
      throw new RangeError(
        `SyncBatchNorm(${this.numFeatures}) got an input with ${c} channels [${x.shape}]`,
      );
    }
    const dims = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
    const low = x.dtype === "bfloat16" || x.dtype === "float16";
    // Half-precision inputs (autocast) are summed in float32.
    using xs = low ? x.to({ dtype: "float32" }) : x.view(x.shape);
    using s = xs.sum({ dim: dims });
    using sq = xs.square();
    using q = sq.sum({ dim: dims });
    using s64 = s.to({ dtype: "float64" });
    using q64 = q.to({ dtype: "float64" });
    // The count is a tensor too, so ranks with different local batches combine right; filled
    // on the input's device (cat takes one device; a CUDA graph can capture a fill).
    const nLocal = x.numel / c;
    using n = full([1], nLocal, { dtype: "float64", device: x.device });
    using packed = cat([s64, q64, n]);
    using total = allReduceWithGrad(packed);
    using count = total.narrow(0, 2 * c, 1);
    // Counts are never negative, so more than one value here is more than one over the ranks:
    // only a batch of at most one value per channel waits for the device to read the total.
    const nTotal = nLocal > 1 ? null : count.item();
    if (nTotal !== null && nTotal <= 1) {
      throw new RangeError(
        `SyncBatchNorm: expected more than 1 value per channel when training, got ${nTotal} ` +
          `over all ranks (input [${x.shape}] here): use a larger batch`,
      );
    }
    using sum = total.narrow(0, 0, c);
    using sumSq = total.narrow(0, c, c);
    using mean = sum.div(count);
    using ex2 = sumSq.div(count);
    using mean2 = mean.square();
    using variance = ex2.sub(mean2); // biased, float64
    using ve = variance.add(this.eps);
    using invstd = ve.rsqrt();
    // y = x * scale + shift, with scale = weight * invstd, shift = bias - mean * scale.
    using scale64 = this.weight === null ? invstd.view([c]) : invstd.mul(this.weight);
    using ms = mean.mul(scale64);
    using negMs = ms.neg();
    using shift64 = this.bias === null ? negMs.view([c]) : negMs.add(this.bias);
    const bshape = [1, c, ...Array.from({ length: x.ndim - 2 }, () => 1)];
    using scaleX = scale64.to({ dtype: x.dtype });
    using shiftX = shift64.to({ dtype: x.dtype });
    using scaleB = scaleX.view(bshape);
    using shiftB = shiftX.view(bshape);
    using xScaled = x.mul(scaleB);
    const y = xScaled.add(shiftB);
    const rm = this.runningMean;
    const rv = this.runningVar;
    if (rm !== null && rv !== null) {
      noGrad(() => {
        const m = this.momentum;
        // n / (n - 1) on the device, in float64 as the host would compute it (one IEEE
        // division of exact integers), so the factor is the same without a read-back.
        using nm1 = count.sub(1);
        using bessel = count.div(nm1);
        using unbiased = variance.mul(bessel);
        rm.mul_(1 - m).add_(mean, m);
        rv.mul_(1 - m).add_(unbiased, m);
        this.buffer("num_batches_tracked")?.add_(1);
      });
    }
    return y;
  }
}

/**
 * torch.nn.SyncBatchNorm.convert_sync_batchnorm: every BatchNorm1d and
 * BatchNorm2d in `module` (the module itself included) becomes a
 * SyncBatchNorm, in place: the very same module objects change class, so they
 * keep their parameter and buffer tensors, options, names and train/eval mode,
 * and every reference to them stays valid (a parent's `this.bn1`, a
 * Sequential's layers, an optimizer built over the parameters, BYOL's target
 * slots: converting after building BYOL or the optimizer is safe). Returns
 * `module`.
 */
export function convertSyncBatchNorm<M extends Module>(module: M): M {
  for (const [, m] of module.namedModules()) {
    if (m instanceof BatchNorm1d || m instanceof BatchNorm2d) {
      Object.setPrototypeOf(m, SyncBatchNorm.prototype);
    }
  }
  return module;
}
