// Each transform against torchvision's functional transform (TF) with the same
// per-image parameters on the same images. One Python run serves every case.
import { assert, assertEquals } from "../helpers/asserts.ts";
import { assertClose } from "../helpers/assert.ts";
import { reference } from "../helpers/reference.ts";
import { cat, randint, tensor } from "../../ffi/creation.ts";
import { manualSeed } from "../../ffi/runtime.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import { colorJitterCpu, resizedCropCpu, solarizeNormalizeCpu } from "../../ffi/kernels.ts";
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  colorJitter,
  normalize,
  randomGaussianBlur,
  randomGrayscale,
  resizedCropFlip,
  solarize,
} from "../../src/augment/mod.ts";

const N = 6;
const OUT_SIZE: [number, number] = [12, 14];

function images(): Tensor {
  manualSeed(3);
  const u8 = randint(0, 256, [N, 3, 16, 20], { dtype: "uint8" });
  const x = u8.float().div(255);
  // Image 5 is gray (r = g = b): the hue code's max == min branch.
  const gray = x.narrow(0, 5, 1).narrow(1, 0, 1).expand(1, 3, 16, 20);
  // Image 4 is bright: clamping at 1 matters for brightness and contrast.
  const bright = x.narrow(0, 4, 1).mul(0.5).add(0.5);
  return cat([x.narrow(0, 0, 4), bright, gray], 0);
}

const f32 = (v: number[]) => tensor(new Float32Array(v));
const mask = (v: boolean[]) => tensor(v);

Deno.test("augment transforms match torchvision.transforms.functional per image", async () => {
  const x = images();
  // Boxes (top, left, h, w): upscaling, downscaling, full image, corner, 1-pixel-wide, bottom-right.
  const boxes = f32([2, 3, 5, 6, 0, 0, 16, 20, 1, 2, 14, 17, 0, 0, 4, 4, 3, 7, 9, 1, 8, 11, 8, 9])
    .reshape(N, 4);
  const flip = mask([false, true, false, true, true, false]);
  const FACTORS = [
    [0.6, 1.4, 1.0, 1.3, 1.2, 0.8], // brightness
    [0.6, 1.4, 1.0, 0.75, 1.3, 0.9], // contrast
    [0.8, 1.2, 1.0, 0.9, 1.1, 1.15], // saturation
    [-0.1, 0.1, 0, 0.05, -0.07, 0.03], // hue
  ];
  const [b, c, s, h] = FACTORS.map(f32);
  const sigma = f32([0.1, 2.0, 0.7, 1.3, 0.5, 1.0]);
  const m = mask([true, false, true, true, false, true]);
  // Per-image op orders (0 brightness, 1 contrast, 2 saturation, 3 hue).
  const ORDER = [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1], [3, 0, 1, 2], [
    1,
    2,
    3,
    0,
  ]];
  const order = tensor(ORDER, { dtype: "int64" });
  const factors = cat([b, c, s, h].map((t) => t.unsqueeze(1)), 1);
  const mean = [0.4914, 0.4822, 0.4465];
  const std = [0.247, 0.2435, 0.2616];

  const u8 = randint(0, 256, [N, 3, 16, 20], { dtype: "uint8" });
  const ours: Record<string, Tensor> = {
    crop: resizedCropFlip(x, boxes, flip, OUT_SIZE),
    // The fused CPU crop the pipeline uses: from float, and straight from uint8.
    fusedCrop: resizedCropCpu(x, boxes, flip, OUT_SIZE),
    fusedCropU8: resizedCropCpu(u8, boxes, flip, OUT_SIZE),
    brightness: adjustBrightness(x, b),
    contrast: adjustContrast(x, c),
    saturation: adjustSaturation(x, s),
    hue: adjustHue(x, h),
    grayscale: randomGrayscale(x, m),
    blur: randomGaussianBlur(x, m, sigma, 5),
    solarize: solarize(x, m, 0.5),
    jitter: colorJitter(x, factors, order),
    jitterGray1: colorJitter(x.narrow(1, 0, 1), factors, order),
    // The fused CPU kernel the pipeline uses on the CPU, with grayscale after the jitter.
    fusedJitter: colorJitterCpu(x, factors, order, null),
    fusedJitterGray: colorJitterCpu(x, factors, order, m),
    fusedJitterGray1: colorJitterCpu(x.narrow(1, 0, 1).contiguous(), factors, order, null),
    normalize: normalize(x, mean, std),
    fusedSolarizeNormalize: solarizeNormalizeCpu(x, m, 0.5, mean, std),
    fusedNormalize: solarizeNormalizeCpu(x, null, 0.5, mean, std),
  };
  const theirs = await reference(
    `
    import torchvision.transforms.functional as TF
    from torchvision.transforms import InterpolationMode
    x = inp["x"]
    N = x.shape[0]
    boxes = inp["boxes"].long().tolist()
    flip = inp["flip"].tolist()
    b, c, s, h, sigma = (inp[k].tolist() for k in ("b", "c", "s", "h", "sigma"))
    m = inp["m"].tolist()
    order = inp["order"].tolist()
    def crop(n):
        t, l, hh, ww = boxes[n]
        y = TF.resized_crop(x[n], t, l, hh, ww, [${OUT_SIZE}], InterpolationMode.BILINEAR, antialias=False)
        return TF.hflip(y) if flip[n] else y
    def jitter(img, n):
        fns = [lambda im: TF.adjust_brightness(im, b[n]), lambda im: TF.adjust_contrast(im, c[n]),
               lambda im: TF.adjust_saturation(im, s[n]), lambda im: TF.adjust_hue(im, h[n])]
        for k in order[n]:
            img = fns[k](img)
        return img
    each = lambda f: torch.stack([f(n) for n in range(N)])
    out["crop"] = each(crop)
    out["fusedCrop"] = out["crop"]
    x = inp["u8f"] / 255
    out["fusedCropU8"] = each(crop)
    x = inp["x"]
    out["brightness"] = each(lambda n: TF.adjust_brightness(x[n], b[n]))
    out["contrast"] = each(lambda n: TF.adjust_contrast(x[n], c[n]))
    out["saturation"] = each(lambda n: TF.adjust_saturation(x[n], s[n]))
    out["hue"] = each(lambda n: TF.adjust_hue(x[n], h[n]))
    out["grayscale"] = each(lambda n: TF.rgb_to_grayscale(x[n], 3) if m[n] else x[n])
    out["blur"] = each(lambda n: TF.gaussian_blur(x[n], [5, 5], [sigma[n], sigma[n]]) if m[n] else x[n])
    out["solarize"] = each(lambda n: TF.solarize(x[n], 0.5) if m[n] else x[n])
    out["jitter"] = each(lambda n: jitter(x[n], n))
    out["jitterGray1"] = each(lambda n: jitter(x[n, :1], n))
    out["fusedJitter"] = out["jitter"]
    out["fusedJitterGray"] = each(lambda n: TF.rgb_to_grayscale(jitter(x[n], n), 3) if m[n] else jitter(x[n], n))
    out["fusedJitterGray1"] = out["jitterGray1"]
    out["normalize"] = TF.normalize(x, ${JSON.stringify(mean)}, ${JSON.stringify(std)})
    out["fusedSolarizeNormalize"] = TF.normalize(out["solarize"], ${JSON.stringify(mean)}, ${
      JSON.stringify(std)
    })
    out["fusedNormalize"] = out["normalize"]
    `,
    { x, u8f: u8.float(), boxes, flip: flip.float(), b, c, s, h, sigma, m: m.float(), order },
  );
  // Tolerances, first order in float32's unit roundoff u = 2^-24, absolute on [0, 1] pixels
  // (assertClose's floor 1; relative above 1, as normalize's outputs), with each side free to
  // evaluate its float32 formula its own way (another SIMD path, an FMA, another summation
  // order). A crop pixel is a bilinear blend of pixels in [0, 1], so a source coordinate off
  // by d pixels moves it by at most d. Ours maps an output pixel through affine_grid (linspace
  // and its rescale 5u, the product with sx and the sum with tx 2u, sx and tx themselves 4u:
  // 11u in [-1, 1] units of W / 2 pixels) and grid_sample's unnormalisation (three roundings on
  // values up to 2W, halved): 8.5u W; interpolate's source index takes three (scale, product,
  // subtraction) on values up to W: 3u W; the blends round 6 and 8 times: 11.5u (W + H) + 14u.
  // The fused crop computes interpolate's own formula, so both coordinates take 3u W each:
  // 6u (W + H) + 16u, and 2u more for the uint8 path's x / 255. The blur: torchvision's 5x5
  // kernel (outer product, 1u) in a 25-term sum (25u), ours two 5-term passes (5u each); all
  // weights are positive and sum to 1: 36u. The colour ops are torchvision's float32 ops in
  // its order, so they differ only where one side contracts a multiply-add into an FMA: a
  // blend (values up to 1.4) by 2u (BLEND), the grayscale's two by 2u (GRAY), and contrast's
  // mean of H W grays by up to 2 * 44u when the two sides sum in different orders (a float32
  // sum in 8 or more SIMD lanes: H W / 8 additions a lane, 3 to join the lanes, 1 to divide);
  // a blend keeps |1 - f| of its reference's error. Hue repeats torchvision's ops exactly (the
  // next test holds it to 0). In a jitter chain a difference d entering an op leaves it at
  // most gain * d: brightness |f| (it blends with 0), contrast and saturation |f| + |1 - f|
  // (the mean and the grayscale move by at most d), hue 1 + 12 |h| (a shifted channel is
  // mid + 6 h (max - min)); jitterBound chains each image's ops in its order. Seen with
  // Debian's 1.13 (pip's 2.14): crop 20u (23u), the fused crops 10-11u (11-13u), blur 4u,
  // jitter 9u, the single ops 0. A crop box off by 0.01 pixel moves pixels by 9e-3, a
  // brightness factor off by 1e-6 by 1e-6 (8 times its bound).
  const U = 2 ** -24;
  const [H, W] = [x.size(2), x.size(3)];
  const MEAN = (H * W) / 8 + 3 + 1; // u of a float32 mean of H W values in [0, 1]
  const BLEND = 2; // u a blend (values up to 1.4) may move by an FMA on either side
  const GRAY = 2; // u the grayscale's two multiply-adds may move likewise
  const jitterBound = (n: number): number => {
    let bound = 0;
    for (const op of ORDER[n]) {
      const f = FACTORS[op][n];
      const blendGain = Math.abs(f) + Math.abs(1 - f);
      const [gain, own] = [
        [Math.abs(f), BLEND], // brightness: f x, blended with 0
        [blendGain, BLEND + 2 * MEAN * Math.abs(1 - f)], // contrast: with the mean
        [blendGain, BLEND + GRAY * Math.abs(1 - f)], // saturation: with the grayscale
        [1 + 12 * Math.abs(f), 0], // hue: torchvision's ops exactly
      ][op];
      bound = bound * gain + own;
    }
    return bound;
  };
  const jitter = Math.max(...ORDER.map((_, n) => jitterBound(n)));
  const maxGap = (fs: number[]) => Math.max(...fs.map((f) => Math.abs(1 - f)));
  const tol: Record<string, number> = {
    crop: 11.5 * (W + H) + 14,
    fusedCrop: 6 * (W + H) + 16,
    fusedCropU8: 6 * (W + H) + 18,
    blur: 36,
    contrast: BLEND + 2 * MEAN * maxGap(FACTORS[1]),
    saturation: BLEND + GRAY * maxGap(FACTORS[2]),
    grayscale: GRAY,
    jitter,
    jitterGray1: jitter,
    fusedJitter: jitter,
    fusedJitterGray: jitter + BLEND, // and the grayscale after it
    fusedJitterGray1: jitter,
  };
  for (const name of Object.keys(ours)) {
    const a = ours[name];
    const r = theirs[name];
    assert(r !== undefined, `${name}: missing from the reference`);
    assertEquals(a.shape, r.shape, `${name}: shape`);
    assertClose(a, r, (tol[name] ?? BLEND) * U, 1, `${name} (bound ${tol[name] ?? BLEND} u)`);
  }
});

Deno.test("fused hue equals TF.adjust_hue bit for bit: every sector, gray pixels, factors +-0.5", async () => {
  // 64 images of 7x7 (49 pixels: the kernel's last group of four is partial):
  // random colours, plus the pure hues of all six sectors, their boundaries,
  // black, white and grays (max == min) in image 0.
  manualSeed(11);
  const n = 64;
  const x = randint(0, 256, [n, 3, 7, 7], { dtype: "uint8" }).float().div(255);
  const special = [
    [1, 0, 0],
    [1, 1, 0],
    [0, 1, 0],
    [0, 1, 1],
    [0, 0, 1],
    [1, 0, 1], // sector boundaries
    [1, 0.5, 0],
    [0.5, 1, 0],
    [0, 1, 0.5],
    [0, 0.5, 1],
    [0.5, 0, 1],
    [1, 0, 0.5], // mid-sectors
    [0, 0, 0],
    [1, 1, 1],
    [0.5, 0.5, 0.5],
    [1, 0.9999999, 0],
    [0.2, 0.2, 0.2000001],
  ];
  const first = new Float32Array(3 * 49);
  for (let i = 0; i < 49; i++) {
    const [r, g, b] = special[i % special.length];
    first[i] = r;
    first[49 + i] = g;
    first[98 + i] = b;
  }
  const imgs = cat([tensor(first).reshape(1, 3, 7, 7), x.narrow(0, 1, n - 1)], 0);
  // Factors over the whole range, both ends included; only hue is active.
  const hs = Array.from({ length: n }, (_, i) => -0.5 + i / (n - 1));
  const factors = tensor(new Float32Array(hs.flatMap((h) => [1, 1, 1, h])), { shape: [n, 4] });
  const order = tensor(Array.from({ length: n }, () => [3, 0, 1, 2]), { dtype: "int64" });
  const ours = colorJitterCpu(imgs, factors, order, null);
  const theirs = await reference(
    `
    import torchvision.transforms.functional as TF
    x, h = inp["x"], inp["h"].tolist()
    out["hue"] = torch.stack([TF.adjust_hue(x[i], h[i]) for i in range(x.shape[0])])
    `,
    { x: imgs, h: tensor(new Float32Array(hs)) },
  );
  assertClose(ours, theirs.hue, 0, 1, "hue");
});
