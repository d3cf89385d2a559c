/** Solarize (TF.solarize on [0, 1] floats) where chosen per image. */
import { tidy } from "../../ffi/memory.ts";
import { where } from "../../ffi/creation.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import { perImage } from "./color.ts";

/** Pixels >= threshold become 1 - x, in the images where `mask[n]` (all when mask is null). */
export function solarize(x: Tensor, mask: Tensor | null, threshold = 0.5): Tensor {
  return tidy(() => {
    let hit = x.ge(threshold);
    if (mask !== null) hit = hit.logicalAnd(perImage(mask));
    return where(hit, x.rsub(1), x);
  });
}
