/**
 * Random resized crop and horizontal flip for a whole batch in one
 * affine_grid + grid_sample, each image with its own box.
 */
import { tidy } from "../../ffi/memory.ts";
import { stack } from "../../ffi/creation.ts";
import { affineGrid, gridSample } from "../../ffi/functional.ts";
import type { Tensor } from "../../ffi/tensor.ts";

/**
 * Crops box n = (top, left, height, width) of image n, resizes it bilinearly to
 * `size` and flips it where `flip[n]`: TF.resized_crop(img, top, left, h, w, size,
 * BILINEAR, antialias=False) then TF.hflip.
 *
 * @param x float (N, C, H, W)
 * @param boxes float32 (N, 4) integer pixel boxes inside the image
 * @param flip bool (N,) or null for no flips
 */
export function resizedCropFlip(
  x: Tensor,
  boxes: Tensor,
  flip: Tensor | null,
  size: [number, number],
): Tensor {
  return tidy(() => {
    const [n, c, inH, inW] = x.shape;
    const [outH, outW] = size;
    const top = boxes.select(1, 0);
    const left = boxes.select(1, 1);
    const h = boxes.select(1, 2);
    const w = boxes.select(1, 3);
    // Output pixel centre xn (align_corners=False) maps to crop pixel
    // (xn + 1) w / 2 - 0.5 + left, which is normalised input x
    // xn * w / W + (2 left + w) / W - 1: interpolate's source index on the crop.
    let sx = w.div(inW);
    const tx = left.mul(2).add(w).div(inW).sub(1);
    const sy = h.div(inH);
    const ty = top.mul(2).add(h).div(inH).sub(1);
    // A flip of the output negates xn.
    if (flip !== null) sx = sx.mul(flip.to({ dtype: "float32" }).mul(-2).add(1));
    const zero = sx.mul(0);
    const theta = stack([sx, zero, tx, zero, sy, ty], 1).reshape(n, 2, 3);
    const grid = affineGrid(theta, [n, c, outH, outW]);
    // interpolate clamps source indices to the crop, so no pixel outside the
    // box bleeds in when upscaling: clamp the grid to the box's pixel centres.
    const lo = stack([left.mul(2).add(1).div(inW).sub(1), top.mul(2).add(1).div(inH).sub(1)], 1);
    const hi = stack([
      left.add(w).mul(2).sub(1).div(inW).sub(1),
      top.add(h).mul(2).sub(1).div(inH).sub(1),
    ], 1);
    const clamped = grid.maximum(lo.reshape(n, 1, 1, 2)).minimum(hi.reshape(n, 1, 1, 2));
    return gridSample(x, clamped, { mode: "bilinear", paddingMode: "border" });
  });
}
