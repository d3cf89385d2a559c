/**
 * Per-image random parameters of one view, drawn in ONE call on the batch's
 * device from an explicit generator: no host round trip, and every image gets
 * its own crop box, coin flips and factors.
 */
import { tidy } from "../../ffi/memory.ts";
import type { Generator } from "../../ffi/generator.ts";
import { fullLike, stack, where } from "../../ffi/creation.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import type { ViewConfig } from "./config.ts";

/** The random draws of one view for a batch of N images. */
export interface ViewParams {
  /** (N, 4) float32: crop top, left, height, width in input pixels (integers). */
  boxes: Tensor;
  /** (N,) bool: flip horizontally. */
  flip: Tensor;
  /** (N, 4) float32: brightness, contrast, saturation, hue factors (identity where no jitter). */
  factors: Tensor;
  /** (N, 4) int64: order[n, k] is the jitter op (a JitterOp code) image n applies k-th. */
  order: Tensor;
  /** (N,) bool: convert to grayscale. */
  grayscale: Tensor;
  /** (N,) bool: blur, with (N,) float32 sigma. */
  blur: Tensor;
  sigma: Tensor;
  /** (N,) bool: solarize. */
  solarize: Tensor;
}

/** torchvision's RandomResizedCrop tries 10 boxes before falling back to a center crop. */
export const CROP_ATTEMPTS = 10;
const COLUMNS = 2 * CROP_ATTEMPTS + 16;

/** torchvision's fallback box (top, left, h, w) when no attempt fits. */
export function centerCropFallback(
  height: number,
  width: number,
  ratio: [number, number],
): [number, number, number, number] {
  const inRatio = width / height;
  let w = width;
  let h = height;
  // Python's round() and torch.round both round half to even.
  if (inRatio < ratio[0]) h = roundHalfEven(w / ratio[0]);
  else if (inRatio > ratio[1]) w = roundHalfEven(h * ratio[1]);
  return [Math.floor((height - h) / 2), Math.floor((width - w) / 2), h, w];
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** uniform(lo, hi) from a [0, 1) column, as Tensor.uniform_ does: lo + (hi - lo) u. */
function uniform(u: Tensor, lo: number, hi: number): Tensor {
  return u.mul(hi - lo).add(lo);
}

/** torchvision's jitter ranges: b -> [max(0, 1 - b), 1 + b], hue h -> [-h, h]. */
function jitterRange(v: number, hue = false): [number, number] {
  return hue ? [-v, v] : [Math.max(0, 1 - v), 1 + v];
}

/**
 * Draws every random parameter of one view for `n` images of `height` x `width`.
 * Crop boxes follow RandomResizedCrop.get_params: 10 candidates per image drawn
 * at once, the first that fits wins, else the center-crop fallback.
 */
export function drawViewParams(
  n: number,
  height: number,
  width: number,
  cfg: ViewConfig,
  gen: Generator,
): ViewParams {
  return tidy(() => {
    // float64 so box arithmetic rounds as torchvision's Python floats do.
    const u = gen.rand([n, COLUMNS], { dtype: "float64" });
    const col = (i: number) => u.select(1, i);
    const A = CROP_ATTEMPTS;

    // ---- crop box ----
    const area = height * width;
    const target = uniform(u.narrow(1, 0, A), cfg.scale[0], cfg.scale[1]).mul(area);
    const logR = [Math.log(cfg.ratio[0]), Math.log(cfg.ratio[1])];
    const aspect = uniform(u.narrow(1, A, A), logR[0], logR[1]).exp();
    const w = target.mul(aspect).sqrt().round();
    const h = target.div(aspect).sqrt().round();
    const valid = w.gt(0).logicalAnd(w.le(width)).logicalAnd(h.gt(0)).logicalAnd(h.le(height));
    // argmax returns the first maximum: the first attempt that fits.
    const first = valid.to({ dtype: "float32" }).argmax({ dim: 1, keepdim: true });
    const any = valid.any({ dim: 1 });
    const [fTop, fLeft, fH, fW] = centerCropFallback(height, width, cfg.ratio);
    const hSel = where(any, h.gather(1, first).squeeze(1), fullLike(col(0), fH));
    const wSel = where(any, w.gather(1, first).squeeze(1), fullLike(col(0), fW));
    // torch.randint(0, H - h + 1) as floor(u * (H - h + 1)).
    const top = where(any, col(2 * A).mul(hSel.rsub(height + 1)).floor(), fullLike(col(0), fTop));
    const left = where(
      any,
      col(2 * A + 1).mul(wSel.rsub(width + 1)).floor(),
      fullLike(col(0), fLeft),
    );
    const boxes = stack4(top, left, hSel, wSel).to({ dtype: "float32" });

    // ---- coin flips and factors ----
    const c = 2 * A + 2;
    const flip = col(c).lt(cfg.flipP);
    const jitter = col(c + 1).lt(cfg.jitterP);
    const b = uniform(col(c + 2), ...jitterRange(cfg.brightness));
    const ct = uniform(col(c + 3), ...jitterRange(cfg.contrast));
    const s = uniform(col(c + 4), ...jitterRange(cfg.saturation));
    const hue = uniform(col(c + 5), ...jitterRange(cfg.hue, true));
    const drawn = stack4(b, ct, s, hue).to({ dtype: "float32" });
    const one = fullLike(col(0), 1);
    const identity = stack4(one, one, one, one.mul(0)).to({ dtype: "float32" });
    const factors = where(jitter.unsqueeze(1), drawn, identity);
    // Sorting 4 uniforms gives a uniform random permutation (torch.randperm(4)).
    const order = u.narrow(1, c + 6, 4).sort({ dim: 1 }).indices;
    const grayscale = col(c + 10).lt(cfg.grayscaleP);
    const blur = col(c + 11).lt(cfg.blurP);
    const sigma = uniform(col(c + 12), cfg.blurSigma[0], cfg.blurSigma[1]).to({
      dtype: "float32",
    });
    const solarize = col(c + 13).lt(cfg.solarizeP);
    return { boxes, flip, factors, order, grayscale, blur, sigma, solarize };
  });
}

function stack4(a: Tensor, b: Tensor, c: Tensor, d: Tensor): Tensor {
  return stack([a, b, c, d], 1);
}
