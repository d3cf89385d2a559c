// SimSiam's loss term: the negative cosine similarity D(p, z) = -cos(p, z) per
// sample (Chen & He 2021, eq. 1), whose target z the caller has detached.
import type { Tensor } from "../../ffi/tensor.ts";
import * as F from "../../ffi/functional.ts";
import * as A from "../../ffi/args.ts";

/** Per-sample -cos(p, z) (N,) for predictions p and targets z of shape (N, D). */
export function negativeCosine(p: Tensor, z: Tensor): Tensor {
  A.tensor("negativeCosine(p, z)", "p", p);
  A.tensor("negativeCosine(p, z)", "z", z);
  using pn = F.normalize(p, { dim: -1 });
  using zn = F.normalize(z, { dim: -1 });
  using prod = pn.mul(zn);
  using cos = prod.sum({ dim: -1 });
  return cos.neg();
}
