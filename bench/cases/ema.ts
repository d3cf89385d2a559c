// The BYOL target update for ResNet-18 + projector: model.updateTarget, one
// fused lerp over every parameter plus one copy over the BN buffers.
import { timeReps } from "../lib.ts";
import { byolResnet18 } from "./byol_params.ts";
import type { CaseParams } from "./params.ts";

export function run(p: CaseParams): { ms: number; all: number[]; tensors: number } {
  const model = byolResnet18();
  const t = timeReps((i) => model.updateTarget(i, 1000), p);
  const tensors = model.targetStateDict();
  model.dispose();
  return { ms: t.ms, all: t.all, tensors: Object.keys(tensors).length };
}
