/**
 * What one view's augmentation does. Probabilities are per image: each image
 * of a batch draws its own coin flips and parameters.
 */
export interface ViewConfig {
  /** Output size: a square side or [height, width]. */
  size: number | [number, number];
  /** RandomResizedCrop's area fraction range. */
  scale: [number, number];
  /** RandomResizedCrop's aspect ratio (w/h) range. */
  ratio: [number, number];
  /** Horizontal flip probability. */
  flipP: number;
  /** ColorJitter strengths as torchvision takes them: b means [max(0, 1-b), 1+b]; hue h means [-h, h]. */
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
  /** Probability that an image gets colour jitter at all (RandomApply). */
  jitterP: number;
  grayscaleP: number;
  blurP: number;
  /** Gaussian blur sigma range, drawn per image. */
  blurSigma: [number, number];
  /** Odd blur kernel size; 0 means 10% of the output size, rounded up to odd (23 at 224 px). */
  blurKernel: number;
  solarizeP: number;
  /** Solarize threshold on [0, 1] pixels. */
  solarizeThreshold: number;
  /** Per-channel normalisation (one value per input channel). */
  mean: number[];
  std: number[];
}

/** A two-view augmentation: each view has its own probabilities. */
export interface AugmentConfig {
  name: string;
  view1: ViewConfig;
  view2: ViewConfig;
}

/** Overrides: the top-level fields go to both views, `view1`/`view2` to one. */
export type AugmentOverrides = Partial<ViewConfig> & {
  name?: string;
  view1?: Partial<ViewConfig>;
  view2?: Partial<ViewConfig>;
};

/** [height, width] of a size setting. */
export function sizePair(size: number | [number, number]): [number, number] {
  return typeof size === "number" ? [size, size] : [size[0], size[1]];
}

/** The blur kernel a view uses: its setting, or 10% of the output size rounded up to odd. */
export function blurKernelSize(cfg: ViewConfig): number {
  if (cfg.blurKernel > 0) return cfg.blurKernel;
  const k = Math.floor(0.1 * Math.min(...sizePair(cfg.size)));
  return Math.max(3, k % 2 === 0 ? k + 1 : k);
}

function checkProb(name: string, p: number): void {
  if (!(p >= 0 && p <= 1)) {
    throw new RangeError(`${name} must be a probability in [0, 1], got ${p}`);
  }
}

function checkRange(name: string, r: [number, number], min = 0): void {
  if (!(r.length === 2 && r[0] >= min && r[0] <= r[1])) {
    throw new RangeError(`${name} must be [lo, hi] with ${min} <= lo <= hi, got [${r}]`);
  }
}

/** Throws a RangeError naming the first bad setting. */
export function validateView(cfg: ViewConfig, where = "view"): void {
  const [h, w] = sizePair(cfg.size);
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) {
    throw new RangeError(`${where}.size must be positive integers, got ${cfg.size}`);
  }
  checkRange(`${where}.scale`, cfg.scale);
  if (cfg.scale[1] <= 0) throw new RangeError(`${where}.scale upper bound must be > 0`);
  checkRange(`${where}.ratio`, cfg.ratio, Number.MIN_VALUE);
  checkRange(`${where}.blurSigma`, cfg.blurSigma, Number.MIN_VALUE);
  for (const k of ["flipP", "jitterP", "grayscaleP", "blurP", "solarizeP"] as const) {
    checkProb(`${where}.${k}`, cfg[k]);
  }
  for (const k of ["brightness", "contrast", "saturation"] as const) {
    if (!(cfg[k] >= 0)) throw new RangeError(`${where}.${k} must be >= 0, got ${cfg[k]}`);
  }
  if (!(cfg.hue >= 0 && cfg.hue <= 0.5)) {
    throw new RangeError(`${where}.hue must be in [0, 0.5], got ${cfg.hue}`);
  }
  const k = blurKernelSize(cfg);
  if (!(Number.isInteger(k) && k % 2 === 1)) {
    throw new RangeError(`${where}.blurKernel must be an odd integer, got ${k}`);
  }
  if (cfg.blurP > 0 && Math.floor(k / 2) >= Math.min(h, w)) {
    throw new RangeError(
      `${where}.blurKernel ${k} is too large for ${h}x${w} outputs (reflect padding needs k/2 < side)`,
    );
  }
  if (cfg.mean.length !== cfg.std.length || cfg.mean.length === 0) {
    throw new RangeError(`${where}.mean and .std need one value per channel`);
  }
  if (cfg.std.some((s) => !(s > 0))) throw new RangeError(`${where}.std values must be > 0`);
}
