// Builds the encoder a config names.
import { convNet } from "../nn/convnet.ts";
import { resnet18, resnet34, resnet50 } from "../nn/resnet.ts";
import type { Encoder } from "../byol/model.ts";
import type { EncoderName } from "./config.ts";

export function buildEncoder(
  cfg: { encoder: EncoderName; stem: "imagenet" | "cifar"; width: number },
  inChannels: number,
): Encoder {
  switch (cfg.encoder) {
    case "convnet":
      return convNet({ inChannels, width: cfg.width });
    case "resnet18":
      return resnet18({ inChannels, stem: cfg.stem });
    case "resnet34":
      return resnet34({ inChannels, stem: cfg.stem });
    case "resnet50":
      return resnet50({ inChannels, stem: cfg.stem });
  }
}
