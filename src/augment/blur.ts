/** Gaussian blur with a sigma per image, as TF.gaussian_blur, separable and grouped. */
import { tidy } from "../../ffi/memory.ts";
import { arange, where } from "../../ffi/creation.ts";
import { conv2d, pad } from "../../ffi/functional.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import { perImage } from "./color.ts";

/** torchvision's _get_gaussian_kernel1d for each sigma: (N,) -> (N, k). */
export function gaussianKernels(sigma: Tensor, kernelSize: number): Tensor {
  return tidy(() => {
    const half = (kernelSize - 1) * 0.5;
    const x = arange(kernelSize, undefined, 1, { dtype: "float32", device: sigma.device })
      .sub(half).unsqueeze(0);
    const pdf = x.div(sigma.unsqueeze(1)).pow(2).mul(-0.5).exp();
    return pdf.div(pdf.sum({ dim: 1, keepdim: true }));
  });
}

/**
 * Blurs image n of x (N, C, H, W) with sigma[n]: reflect padding by k/2, then
 * a horizontal and a vertical 1-D pass as one grouped conv2d each (groups N*C).
 */
export function gaussianBlur(x: Tensor, sigma: Tensor, kernelSize: number): Tensor {
  return tidy(() => {
    const [n, c, h, w] = x.shape;
    const p = Math.floor(kernelSize / 2);
    const k = gaussianKernels(sigma, kernelSize).unsqueeze(1).expand(n, c, kernelSize)
      .reshape(n * c, 1, 1, kernelSize);
    const padded = pad(x, [p, p, p, p], { mode: "reflect" }).reshape(
      1,
      n * c,
      h + 2 * p,
      w + 2 * p,
    );
    const horizontal = conv2d(padded, k, null, { groups: n * c });
    const vertical = conv2d(horizontal, k.reshape(n * c, 1, kernelSize, 1), null, {
      groups: n * c,
    });
    return vertical.reshape(n, c, h, w);
  });
}

/** GaussianBlur applied where `mask[n]`. */
export function randomGaussianBlur(
  x: Tensor,
  mask: Tensor,
  sigma: Tensor,
  kernelSize: number,
): Tensor {
  return tidy(() => where(perImage(mask), gaussianBlur(x, sigma, kernelSize), x));
}
