// Settings that follow the data unless the user (or a data set's preset) set
// them: channels, augmentation preset and view size. The rule, in one place:
//   channels: the data's (1 when every sampled file is grayscale, else 3);
//   augment:  fashion-mnist for 1 channel; cifar for RGB up to 64 px; paper above;
//   view:     the images' side (median shorter side), at most AUTO_MAX_SIDE.
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

export function chooseDataDefaults(cfg: TrainConfig, probe: ImageProbe): DataDefaults {
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
  return { cfg: { ...cfg, channels, augment, imageSize }, notes };
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
