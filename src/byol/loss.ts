// The BYOL regression loss: 2 - 2 cos(p, z) per sample, i.e. the squared
// distance of the L2-normalised vectors (the notebook's loss_fn).
import type { Tensor } from "../../ffi/tensor.ts";
import * as F from "../../ffi/functional.ts";
import * as A from "../../ffi/args.ts";

/** Per-sample loss (N,) for predictions p and targets z of shape (N, D). */
export function byolLoss(p: Tensor, z: Tensor): Tensor {
  A.tensor("byolLoss(p, z)", "p", p);
  A.tensor("byolLoss(p, z)", "z", z);
  using pn = F.normalize(p, { dim: -1 });
  using zn = F.normalize(z, { dim: -1 });
  using prod = pn.mul(zn);
  using cos = prod.sum({ dim: -1 });
  return cos.mul(-2).add(2);
}
