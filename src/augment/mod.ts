/**
 * Batched per-image augmentation on the device for BYOL: every image draws its
 * own crop, flip, jitter, grayscale, blur and solarize parameters from a seeded
 * Generator.
 *
 * ```ts
 * const pipeline = augment.makeAugment("cifar", { view2: { solarizeP: 0.1 } });
 * const [v1, v2] = pipeline.twoViews(batchU8, generator);
 * ```
 */
export type { AugmentConfig, AugmentOverrides, ViewConfig } from "./config.ts";
export { blurKernelSize, sizePair, validateView } from "./config.ts";
export {
  CIFAR10_MEAN,
  CIFAR10_STD,
  FASHION_MNIST_MEAN,
  FASHION_MNIST_STD,
  IMAGENET_MEAN,
  IMAGENET_STD,
  makeConfig,
  PRESET_NAMES,
  type PresetName,
  presets,
} from "./presets.ts";
export { centerCropFallback, CROP_ATTEMPTS, drawViewParams, type ViewParams } from "./params.ts";
export { resizedCropFlip } from "./crop_flip.ts";
export {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  colorJitter,
  hsvToRgb,
  JITTER_OPS,
  randomGrayscale,
  rgbToGrayscale,
  rgbToHsv,
} from "./color.ts";
export { gaussianBlur, gaussianKernels, randomGaussianBlur } from "./blur.ts";
export { solarize } from "./solarize.ts";
export { applyView, Augment, augmentView, makeAugment, normalize, twoViews } from "./two_views.ts";
