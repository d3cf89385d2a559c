/**
 * The augmentation pipeline: uint8 (N, C, H, W) batch in, float32 normalised
 * views out, on the batch's device with no host round trip. Order as in BYOL's
 * torchvision pipeline: resized crop, flip, colour jitter (p), grayscale (p),
 * blur (p), solarize (p), normalise.
 */
import { tidy } from "../../ffi/memory.ts";
import { cat, full } from "../../ffi/creation.ts";
import { Generator } from "../../ffi/generator.ts";
import * as A from "../../ffi/args.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import type { Device } from "../../ffi/device.ts";
import { TorchError } from "../../ffi/error.ts";
import {
  type AugmentConfig,
  type AugmentOverrides,
  blurKernelSize,
  sizePair,
  type ViewConfig,
} from "./config.ts";
import { drawViewParams, type ViewParams } from "./params.ts";
import { resizedCropFlip } from "./crop_flip.ts";
import { colorJitter, randomGrayscale } from "./color.ts";
import { colorJitterCpu, resizedCropCpu, solarizeNormalizeCpu } from "../../ffi/kernels.ts";
import { randomGaussianBlur } from "./blur.ts";
import { solarize } from "./solarize.ts";
import { makeConfig, type PresetName } from "./presets.ts";

/**
 * A (1, C, 1, 1) float32 tensor of per-channel values, filled on `like`'s
 * device: no host-to-device copy (which waits for the host), so a CUDA graph
 * can capture it. Each value rounds to float32 as a Float32Array's would.
 */
export function perChannel(values: readonly number[], like: { device: Device | string }): Tensor {
  return tidy(() => cat(values.map((v) => full([1, 1, 1, 1], v, { device: like.device })), 1));
}

/** (x - mean) / std per channel, as TF.normalize. */
export function normalize(x: Tensor, mean: number[], std: number[]): Tensor {
  const c = x.size(1);
  if (mean.length !== c || std.length !== c) {
    throw new TorchError(
      "normalize",
      `${c} channel(s) need ${c} means and stds, got ${mean.length} and ${std.length}`,
    );
  }
  return tidy(() => x.sub(perChannel(mean, x)).div(perChannel(std, x)));
}

/** Applies one view's transforms with given parameters to [0, 1] floats (N, C, H, W). */
export function applyView(x: Tensor, p: ViewParams, cfg: ViewConfig): Tensor {
  return tidy(() => afterCrop(cropFlip(x, p, cfg), p, cfg));
}

/** Crop and flip: one fused kernel on the CPU (uint8 or float input), grid_sample elsewhere. */
function cropFlip(x: Tensor, p: ViewParams, cfg: ViewConfig): Tensor {
  const flip = cfg.flipP > 0 ? p.flip : null;
  if (x.device === "cpu") return resizedCropCpu(x, p.boxes, flip, sizePair(cfg.size));
  return tidy(() =>
    resizedCropFlip(x.dtype === "uint8" ? x.float().div(255) : x, p.boxes, flip, sizePair(cfg.size))
  );
}

/** Jitter, grayscale, blur, solarize and normalise a cropped float view. */
function afterCrop(y: Tensor, p: ViewParams, cfg: ViewConfig): Tensor {
  return tidy(() => {
    const rgb = y.size(1) === 3;
    const jitterOn = cfg.jitterP > 0 &&
      (cfg.brightness > 0 || cfg.contrast > 0 || (rgb && (cfg.saturation > 0 || cfg.hue > 0)));
    const grayOn = rgb && cfg.grayscaleP > 0;
    if (y.device === "cpu" && (jitterOn || grayOn)) {
      // One fused pass per image on the CPU (native/augment.cpp); identity
      // factors skip their op, so a view without jitter passes them through.
      y = colorJitterCpu(y, p.factors, p.order, grayOn ? p.grayscale : null);
    } else {
      if (jitterOn) y = colorJitter(y, p.factors, p.order, cfg.hue > 0);
      if (grayOn) y = randomGrayscale(y, p.grayscale);
    }
    if (cfg.blurP > 0) y = randomGaussianBlur(y, p.blur, p.sigma, blurKernelSize(cfg));
    if (y.device === "cpu") {
      // One fused pass for solarize and the normalisation on the CPU.
      const mask = cfg.solarizeP > 0 ? p.solarize : null;
      return solarizeNormalizeCpu(y, mask, cfg.solarizeThreshold, cfg.mean, cfg.std);
    }
    if (cfg.solarizeP > 0) y = solarize(y, p.solarize, cfg.solarizeThreshold);
    return normalize(y, cfg.mean, cfg.std);
  });
}

function checkBatch(batch: Tensor, cfg: ViewConfig, gen: Generator): void {
  if (batch.ndim !== 4 || batch.dtype !== "uint8") {
    throw new TorchError(
      "augment",
      `expected a uint8 (N, C, H, W) batch, got ${batch.dtype} [${batch.shape}]`,
    );
  }
  const c = batch.size(1);
  if (c !== 1 && c !== 3) {
    throw new TorchError("augment", `images need 1 or 3 channels, got ${c} (drop alpha first)`);
  }
  if (cfg.mean.length !== c) {
    throw new TorchError(
      "augment",
      `the normalisation has ${cfg.mean.length} channel(s) but the images have ${c}; ` +
        "pick a preset for this data or set mean and std",
    );
  }
  if (gen.device !== batch.device) {
    throw new TorchError(
      "augment",
      `the generator is on ${gen.device} but the batch is on ${batch.device}`,
    );
  }
}

/**
 * Where a batch sits in a larger one: its images are rows [offset, offset + N)
 * of a global batch of `total` (one process's share in data-parallel training).
 */
export interface BatchSlice {
  offset: number;
  total: number;
}

/** The rows [offset, offset + n) of every parameter drawn for a global batch. */
function sliceParams(p: ViewParams, offset: number, n: number): ViewParams {
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(p)) out[k] = t.narrow(0, offset, n);
  return out as unknown as ViewParams;
}

/**
 * One augmented view of a uint8 batch: float32 (N, C, size, size), normalised.
 * With `slice`, the parameters of the whole global batch are drawn (so the
 * generator advances as in a single process) and this batch takes its rows.
 */
export function augmentView(
  batch: Tensor,
  cfg: ViewConfig,
  gen: Generator,
  slice?: BatchSlice,
): Tensor {
  checkBatch(batch, cfg, gen);
  return tidy(() => {
    const [n, , h, w] = batch.shape;
    const total = slice?.total ?? n;
    const offset = slice?.offset ?? 0;
    if (!(Number.isInteger(offset) && offset >= 0 && offset + n <= total)) {
      throw new TorchError(
        "augment",
        `a slice of ${n} images at ${offset} does not fit a global batch of ${total}`,
      );
    }
    const drawn = drawViewParams(total, h, w, cfg, gen);
    const p = total === n ? drawn : sliceParams(drawn, offset, n);
    // The crop reads the uint8 pixels itself (as x / 255).
    return afterCrop(cropFlip(batch, p, cfg), p, cfg);
  });
}

/** A two-view augmentation built from a configuration. */
export class Augment {
  readonly config: AugmentConfig;

  constructor(config: AugmentConfig) {
    this.config = config;
  }

  /**
   * Both views of `batch`: view 1 is drawn first, then view 2, from `gen`.
   * `slice`: the batch is a share of a global batch (see augmentView).
   */
  twoViews(batch: Tensor, gen: Generator, slice?: BatchSlice): [Tensor, Tensor] {
    A.tensor("Augment.twoViews(batch, gen, slice)", "batch", batch);
    if (!(gen instanceof Generator)) {
      throw A.typeError("Augment.twoViews(batch, gen, slice)", "gen", "a Generator", gen);
    }
    return tidy(() => {
      const v1 = augmentView(batch, this.config.view1, gen, slice);
      const v2 = augmentView(batch, this.config.view2, gen, slice);
      return [v1, v2] as [Tensor, Tensor];
    });
  }

  view(batch: Tensor, which: 1 | 2, gen: Generator): Tensor {
    return augmentView(batch, which === 1 ? this.config.view1 : this.config.view2, gen);
  }
}

/** A pipeline from a preset (default "paper") with overrides merged over it. */
export function makeAugment(
  base: PresetName | AugmentConfig = "paper",
  overrides: AugmentOverrides = {},
): Augment {
  return new Augment(makeConfig(base, overrides));
}

/** `[view1, view2]` of a uint8 batch with a pipeline, a configuration or a preset name. */
export function twoViews(
  batch: Tensor,
  pipeline: Augment | AugmentConfig | PresetName,
  gen: Generator,
): [Tensor, Tensor] {
  const p = pipeline instanceof Augment
    ? pipeline
    : typeof pipeline === "string"
    ? makeAugment(pipeline)
    : new Augment(pipeline);
  return p.twoViews(batch, gen);
}
