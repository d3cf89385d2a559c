// Two views of a uint8 batch with a preset (default cifar), ms per batch.
import { Generator, tensor, tidy } from "../../mod.ts";
import { makeAugment } from "../../src/augment/two_views.ts";
import type { PresetName } from "../../src/augment/presets.ts";
import { syntheticImages, timeReps } from "../lib.ts";
import type { CaseParams } from "./params.ts";

export function run(p: CaseParams): { ms: number; all: number[] } {
  const n = p.batch as number;
  const [c, h, w] = p.shape as [number, number, number];
  const set = syntheticImages(n, c, h, w);
  using batch = tensor(set.images, { shape: [n, c, h, w], dtype: "uint8" });
  const aug = makeAugment(p.preset as PresetName);
  using gen = new Generator(1);
  const t = timeReps(() => tidy(() => aug.twoViews(batch, gen)), p);
  return { ms: t.ms, all: t.all };
}
