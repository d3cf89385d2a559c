/**
 * Colour jitter, grayscale and their building blocks with one factor per
 * image, following torchvision's tensor implementations (functional_tensor)
 * op for op, so results match TF.adjust_* on each image.
 */
import { tidy } from "../../ffi/memory.ts";
import { cat, stack, where } from "../../ffi/creation.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import { JitterOp } from "../../ffi/ops.ts";

/** (N,) or (N, 1) per-image values as (N, 1, 1, 1) for broadcasting over C, H, W. */
export function perImage(t: Tensor): Tensor {
  return t.reshape(t.size(0), 1, 1, 1);
}

/** TF.rgb_to_grayscale: (N, 3, H, W) -> (N, 1, H, W); 1-channel input is returned as a copy. */
export function rgbToGrayscale(x: Tensor): Tensor {
  if (x.size(1) === 1) return x.clone();
  return tidy(() => {
    const r = x.narrow(1, 0, 1);
    const g = x.narrow(1, 1, 1);
    const b = x.narrow(1, 2, 1);
    return r.mul(0.2989).add(g.mul(0.587)).add(b.mul(0.114));
  });
}

/** torchvision's _blend: (f img + (1 - f) ref).clamp(0, 1), f per image. */
function blend(x: Tensor, ref: Tensor, f4: Tensor): Tensor {
  return tidy(() => x.mul(f4).add(ref.mul(f4.rsub(1))).clamp({ min: 0, max: 1 }));
}

/** TF.adjust_brightness with factor[n] for image n. */
export function adjustBrightness(x: Tensor, factor: Tensor): Tensor {
  return tidy(() => x.mul(perImage(factor)).clamp({ min: 0, max: 1 }));
}

/** TF.adjust_contrast: blend with the mean of the image's grayscale. */
export function adjustContrast(x: Tensor, factor: Tensor): Tensor {
  return tidy(() => {
    const mean = rgbToGrayscale(x).mean({ dim: [1, 2, 3], keepdim: true });
    return blend(x, mean, perImage(factor));
  });
}

/** TF.adjust_saturation: blend with the grayscale image (identity on 1 channel). */
export function adjustSaturation(x: Tensor, factor: Tensor): Tensor {
  if (x.size(1) === 1) return x.clone();
  return tidy(() => blend(x, rgbToGrayscale(x), perImage(factor)));
}

/** torchvision's _rgb2hsv on (N, 3, H, W). */
export function rgbToHsv(x: Tensor): Tensor {
  return tidy(() => {
    const r = x.select(1, 0);
    const g = x.select(1, 1);
    const b = x.select(1, 2);
    const maxc = x.amax({ dim: 1 });
    const minc = x.amin({ dim: 1 });
    const eqc = maxc.eq(minc);
    const cr = maxc.sub(minc);
    const ones = maxc.mul(0).add(1);
    const s = cr.div(where(eqc, ones, maxc));
    const crDivisor = where(eqc, ones, cr);
    const rc = maxc.sub(r).div(crDivisor);
    const gc = maxc.sub(g).div(crDivisor);
    const bc = maxc.sub(b).div(crDivisor);
    const isR = maxc.eq(r);
    const notR = maxc.ne(r);
    const hr = isR.float().mul(bc.sub(gc));
    const hg = maxc.eq(g).logicalAnd(notR).float().mul(rc.add(2).sub(bc));
    const hb = maxc.ne(g).logicalAnd(notR).float().mul(gc.add(4).sub(rc));
    // fmod of a positive value is remainder.
    const h = hr.add(hg).add(hb).div(6).add(1).remainder(1);
    return stack([h, s, maxc], 1);
  });
}

/** torchvision's _hsv2rgb on (N, 3, H, W). */
export function hsvToRgb(x: Tensor): Tensor {
  return tidy(() => {
    const h = x.select(1, 0);
    const s = x.select(1, 1);
    const v = x.select(1, 2);
    const h6 = h.mul(6);
    const i = h6.floor();
    const f = h6.sub(i);
    const p = v.mul(s.rsub(1)).clamp({ min: 0, max: 1 });
    const q = v.mul(s.mul(f).rsub(1)).clamp({ min: 0, max: 1 });
    const t = v.mul(s.mul(f.rsub(1)).rsub(1)).clamp({ min: 0, max: 1 });
    // torchvision sums one-hot-masked candidates (einsum); gathering the
    // selected candidate gives the same values.
    const sector = i.long().remainder(6).unsqueeze(1);
    const pick = (cands: Tensor[]) => stack(cands, 1).gather(1, sector);
    const r = pick([v, q, p, p, t, v]);
    const g = pick([t, v, v, q, p, p]);
    const b = pick([p, p, t, v, v, q]);
    return stack([r.squeeze(1), g.squeeze(1), b.squeeze(1)], 1);
  });
}

/** TF.adjust_hue with hue factor[n] in [-0.5, 0.5] for image n (3 channels). */
export function adjustHue(x: Tensor, factor: Tensor): Tensor {
  if (x.size(1) === 1) return x.clone();
  return tidy(() => {
    const hsv = rgbToHsv(x);
    const h = hsv.select(1, 0).add(factor.reshape(factor.size(0), 1, 1)).remainder(1);
    return hsvToRgb(stack([h, hsv.select(1, 1), hsv.select(1, 2)], 1));
  });
}

/** Jitter ops in code order: the codes of ViewParams.order (ffi/ops.ts's JitterOp, tt.h's tt_jitter_op). */
export const JITTER_OPS = Object.keys(JitterOp) as readonly (keyof typeof JitterOp)[];
/** The order code no op has: every blend pass skips it. */
const NO_OP = JITTER_OPS.length;

/**
 * ColorJitter with each image's own factors and op order.
 *
 * Brightness, contrast and saturation are all blends with a reference (0, the
 * grayscale mean, the grayscale image), so one blend pass serves every image,
 * each with its own reference and factor; factor 1 is an exact identity. Hue
 * (the costly op) runs once for the whole batch: every image first applies the
 * blend ops its order puts before hue (three passes, identity where it has
 * fewer), then hue, then the ones after it (three more passes). Identity
 * factors (1, 1, 1, 0) leave an image unchanged.
 *
 * @param factors float32 (N, 4): brightness, contrast, saturation, hue
 * @param order int64 (N, 4): order[n, k] is the op (a JitterOp code) applied k-th
 * @param withHue false skips hue (hue range 0, or 1-channel images)
 */
export function colorJitter(
  x: Tensor,
  factors: Tensor,
  order: Tensor,
  withHue = true,
): Tensor {
  return tidy(() => {
    const rgb = x.size(1) === 3;
    const hue = factors.select(1, JitterOp.hue);
    // Blend factor per op code (the columns in JitterOp's order): 1 (identity)
    // for hue and for NO_OP; saturation is an identity on 1-channel images, as in TF.
    const one = hue.mul(0).add(1);
    const sat = rgb ? factors.select(1, JitterOp.saturation) : one;
    const blendFactors = stack([
      factors.select(1, JitterOp.brightness),
      factors.select(1, JitterOp.contrast),
      sat,
      one,
      one,
    ], 1);
    const blendPass = (y: Tensor, op: Tensor): Tensor => {
      const f4 = perImage(blendFactors.gather(1, op));
      const gray = rgbToGrayscale(y);
      const mean = gray.mean({ dim: [1, 2, 3], keepdim: true });
      let ref = where(perImage(op.eq(JitterOp.contrast)), mean, mean.mul(0));
      if (rgb) ref = where(perImage(op.eq(JitterOp.saturation)), gray, ref);
      return blend(y, ref, f4);
    };
    let y = x;
    if (!(withHue && rgb)) {
      for (let k = 0; k < 4; k++) y = blendPass(y, order.narrow(1, k, 1));
      return y;
    }
    // Slot of hue per image, and the order padded with "no op" codes.
    const hueAt = order.eq(JitterOp.hue).to({ dtype: "float32" }).argmax({ dim: 1, keepdim: true });
    const padded = cat([order, order.narrow(1, 0, 3).mul(0).add(NO_OP)], 1);
    const noOp = order.narrow(1, 0, 1).mul(0).add(NO_OP);
    for (let j = 0; j < 3; j++) {
      const before = hueAt.gt(j);
      y = blendPass(y, where(before, order.narrow(1, j, 1), noOp));
    }
    y = where(perImage(hue.ne(0)), adjustHue(y, hue), y);
    for (let j = 0; j < 3; j++) y = blendPass(y, padded.gather(1, hueAt.add(1 + j)));
    return y;
  });
}

/** RandomGrayscale: where `mask[n]`, image n becomes 3 equal grayscale channels. */
export function randomGrayscale(x: Tensor, mask: Tensor): Tensor {
  if (x.size(1) === 1) return x.clone();
  return tidy(() => where(perImage(mask), rgbToGrayscale(x), x));
}
