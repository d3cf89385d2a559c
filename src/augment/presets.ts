/**
 * Augmentation presets and user settings merged over them.
 *
 * - `paper`: BYOL's Table 6 (Grill et al. 2020, appendix B) at 224 px.
 * - `cifar`: the same at 32 px without blur, as solo-learn's CIFAR BYOL config,
 *   with solo-learn's CIFAR-10 mean/std.
 * - `fashion-mnist`: 28 px, 1 channel, brightness/contrast only. Crop scale
 *   starts at 0.4 rather than 0.08: at 28 px a 0.08 crop is about 8x8 pixels
 *   of a garment, mostly flat texture once upscaled, so both views would often
 *   share no recognisable part; 0.4 beat 0.2 (MoCo v2's choice) by 0.4 points
 *   of kNN-20 on the validation split (docs/TRAINING.md, the sweep). Blur and
 *   solarize stay off: at 28 px a blur wipes out the few edges, and solarize
 *   is a colour op the issue leaves out for this set.
 */
import type { AugmentConfig, AugmentOverrides, ViewConfig } from "./config.ts";
import { validateView } from "./config.ts";

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];
/** solo-learn's CIFAR-10 statistics. */
export const CIFAR10_MEAN = [0.4914, 0.4822, 0.4465];
export const CIFAR10_STD = [0.247, 0.2435, 0.2616];
/** Fashion-MNIST training-set statistics. */
export const FASHION_MNIST_MEAN = [0.286];
export const FASHION_MNIST_STD = [0.353];

const paperView: ViewConfig = {
  size: 224,
  scale: [0.08, 1],
  ratio: [3 / 4, 4 / 3],
  flipP: 0.5,
  brightness: 0.4,
  contrast: 0.4,
  saturation: 0.2,
  hue: 0.1,
  jitterP: 0.8,
  grayscaleP: 0.2,
  blurP: 1.0,
  blurSigma: [0.1, 2.0],
  blurKernel: 23,
  solarizeP: 0,
  solarizeThreshold: 0.5,
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
};

const cifarView: ViewConfig = {
  ...paperView,
  size: 32,
  blurP: 0,
  blurKernel: 0,
  mean: CIFAR10_MEAN,
  std: CIFAR10_STD,
};

const fashionView: ViewConfig = {
  ...paperView,
  size: 28,
  scale: [0.4, 1],
  saturation: 0,
  hue: 0,
  grayscaleP: 0,
  blurP: 0,
  blurKernel: 0,
  mean: FASHION_MNIST_MEAN,
  std: FASHION_MNIST_STD,
};

/** The built-in configurations, by name. */
export const presets: Readonly<Record<PresetName, AugmentConfig>> = Object.freeze({
  paper: {
    name: "paper",
    view1: { ...paperView, blurP: 1.0, solarizeP: 0 },
    view2: { ...paperView, blurP: 0.1, solarizeP: 0.2 },
  },
  cifar: {
    name: "cifar",
    view1: { ...cifarView, solarizeP: 0 },
    view2: { ...cifarView, solarizeP: 0.2 },
  },
  "fashion-mnist": {
    name: "fashion-mnist",
    view1: { ...fashionView },
    view2: { ...fashionView },
  },
});

export type PresetName = "paper" | "cifar" | "fashion-mnist";

export const PRESET_NAMES: readonly PresetName[] = ["paper", "cifar", "fashion-mnist"];

function copyView(v: ViewConfig): ViewConfig {
  return {
    ...v,
    size: typeof v.size === "number" ? v.size : [v.size[0], v.size[1]],
    scale: [v.scale[0], v.scale[1]],
    ratio: [v.ratio[0], v.ratio[1]],
    blurSigma: [v.blurSigma[0], v.blurSigma[1]],
    mean: [...v.mean],
    std: [...v.std],
  };
}

/**
 * A configuration: `base` (a preset name or a configuration, default "paper")
 * with `overrides` merged over it, validated. Top-level override fields apply
 * to both views; `view1` / `view2` fields to one.
 */
export function makeConfig(
  base: PresetName | AugmentConfig = "paper",
  overrides: AugmentOverrides = {},
): AugmentConfig {
  const b = typeof base === "string" ? presets[base] : base;
  if (b === undefined) {
    throw new RangeError(
      `unknown augmentation preset "${base}"; one of ${PRESET_NAMES.join(", ")}`,
    );
  }
  const { name, view1, view2, ...shared } = overrides;
  const cfg: AugmentConfig = {
    name: name ?? b.name,
    view1: copyView({ ...b.view1, ...shared, ...view1 }),
    view2: copyView({ ...b.view2, ...shared, ...view2 }),
  };
  validateView(cfg.view1, "view1");
  validateView(cfg.view2, "view2");
  return cfg;
}
