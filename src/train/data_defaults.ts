// Settings that follow the data unless the user (or a data set's preset) set
// them: channels, augmentation preset and view size. The rule, in one place:
//   channels: the data's (1 when every sampled file is grayscale, else 3);
//   augment:  fashion-mnist for 1 channel; cifar for RGB up to 64 px; paper above;
//   view:     the images' side (median shorter side), at most AUTO_MAX_SIDE;
//   stored:   (folders and CSVs, which are decoded) 8/7 of the view for the
//             paper augmentation (torchvision's Resize(256) for a 224 view),
//             the view otherwise; Fashion-MNIST and CIFAR keep their own size.
import type { ImageProbe } from "../data/probe.ts";
import { presets as augmentPresets } from "../augment/presets.ts";
import { ConfigError, type TrainConfig } from "./settings.ts";

/** Largest automatic view size: larger images are resized down to it (a CPU-sized default). */
export const AUTO_MAX_SIDE = 96;
/** RGB images up to this side count as small (the cifar preset). */
export const SMALL_SIDE = 64;

export interface DataDefaults {
  cfg: TrainConfig;
  /** One line per setting chosen here, for the run's log. */
  notes: string[];
}

/** The stored side `auto` gives for a view of `view` px under `augment`. */
export function autoStoredSize(augment: string, view: number): number {
  return augment === "paper" ? Math.round(view * 8 / 7) : view;
}

export function chooseDataDefaults(
  cfg: TrainConfig,
  probe: ImageProbe & { kind?: string },
): DataDefaults {
  const notes: string[] = [];
  const channels = cfg.channels !== 0 ? cfg.channels : probe.channels;
  if (cfg.channels === 0) {
    notes.push(
      `channels ${channels} (${
        channels === 1 ? "grayscale images" : "colour images"
      }; --channels to change)`,
    );
  }
  if (channels === 3 && probe.withAlpha > 0) {
    notes.push(`alpha channel dropped (${probe.withAlpha} sampled RGBA file(s) read as RGB)`);
  }
  const side = probe.side > 0 ? probe.side : 32;
  let augment = cfg.augment;
  if (augment === "auto") {
    augment = channels === 1 ? "fashion-mnist" : side <= SMALL_SIDE ? "cifar" : "paper";
    notes.push(
      `augment ${augment} (${channels}-channel images of ${side} px; --augment to change)`,
    );
  }
  const presetChannels = augmentPresets[augment].view1.mean.length;
  if (presetChannels !== channels) {
    throw new ConfigError(
      `--augment ${augment} is for ${presetChannels}-channel images, but the data has ` +
        `${channels}; pick a matching --augment (fashion-mnist for 1 channel; cifar or paper ` +
        "for 3), or leave it out to follow the data",
    );
  }
  let imageSize = cfg.imageSize;
  if (imageSize === 0) {
    imageSize = Math.max(8, Math.min(side, AUTO_MAX_SIDE));
    notes.push(
      `view size ${imageSize} px${
        side > AUTO_MAX_SIDE ? ` (images are ${side} px; resized down)` : ""
      } (--image-size to change)`,
    );
  }
  // Only folders and CSVs are decoded (and so stored at a size of our choice);
  // a probe without a kind is one of them.
  const decoded = probe.kind === undefined || probe.kind === "folder" || probe.kind === "csv";
  let storedSize = cfg.storedSize;
  if (!decoded) {
    if (storedSize !== 0 && storedSize !== side) {
      notes.push(
        `--stored-size ${storedSize} ignored: ${probe.kind} images are kept at ${side} px`,
      );
    }
    storedSize = side;
  } else if (storedSize === 0) {
    storedSize = autoStoredSize(augment, imageSize);
    if (storedSize !== imageSize) {
      notes.push(
        `images stored at ${storedSize} x ${storedSize} px (8/7 of the ${imageSize} px view, as ` +
          `torchvision's Resize(256) for 224: views are cropped from the whole image, evaluation ` +
          `takes the centre ${imageSize} px; --stored-size to change)`,
      );
    }
  } else if (storedSize < imageSize) {
    throw new ConfigError(
      `--stored-size ${storedSize} is smaller than the ${imageSize} px view; store at least ` +
        `--image-size (${imageSize}), or leave --stored-size out for ${
          autoStoredSize(augment, imageSize)
        }`,
    );
  }
  return { cfg: { ...cfg, channels, augment, imageSize, storedSize }, notes };
}

/** Refuses a batch larger than the training set, naming the fix. */
export function checkBatchFits(cfg: TrainConfig, images: number, description: string): void {
  if (cfg.batchSize > images) {
    throw new ConfigError(
      `--batch-size ${cfg.batchSize} is larger than the ${images} training images of ` +
        `${description}; use --batch-size at most ${images}`,
    );
  }
}
