// Bindings of the shim's fused CPU kernels (native/augment.cpp).
import { lib } from "./library.ts";
import { OUT } from "./call.ts";
import { handleOf, handleOfOpt, type Tensor, wrap } from "./tensor.ts";

/**
 * Colour jitter in each image's own op order, then optional grayscale, in one
 * pass per image (CPU, float32 (N, C, H, W), C 1 or 3). `factors` (N, 4):
 * brightness, contrast, saturation, hue; `order` (N, 4): JitterOp codes (others
 * skip); `gray` (N,) bool or null. Identity factors (1, 1, 1, 0) skip their op.
 */
export function colorJitterCpu(
  x: Tensor,
  factors: Tensor,
  order: Tensor,
  gray: Tensor | null,
): Tensor {
  return wrap(
    "tt_color_jitter_cpu",
    lib.tt_color_jitter_cpu(
      handleOf(x),
      handleOf(factors),
      handleOf(order),
      handleOfOpt(gray),
      OUT,
    ),
  );
}

/**
 * TF.resized_crop (bilinear, antialias off) then TF.hflip where `flip[n]`, per
 * image, on the CPU. `x` is uint8 (read as x / 255) or float32 (N, C, H, W);
 * `boxes` (N, 4) holds integer top, left, height, width. Returns float32.
 */
export function resizedCropCpu(
  x: Tensor,
  boxes: Tensor,
  flip: Tensor | null,
  size: [number, number],
): Tensor {
  return wrap(
    "tt_resized_crop_cpu",
    lib.tt_resized_crop_cpu(handleOf(x), handleOf(boxes), handleOfOpt(flip), size[0], size[1], OUT),
  );
}

/**
 * TF.solarize (where `mask[n]`; null: no image) then TF.normalize with one
 * mean and std per channel, in one pass (CPU, float32 (N, C, H, W)).
 */
export function solarizeNormalizeCpu(
  x: Tensor,
  mask: Tensor | null,
  threshold: number,
  mean: number[],
  std: number[],
): Tensor {
  return wrap(
    "tt_solarize_normalize_cpu",
    lib.tt_solarize_normalize_cpu(
      handleOf(x),
      handleOfOpt(mask),
      threshold,
      new Float64Array(mean),
      new Float64Array(std),
      mean.length,
      OUT,
    ),
  );
}
