// One optimizer step (LARS, AdamW; SGD for reference) over ResNet-18 +
// projector parameters, biases and norms in the no-decay group.
import { AdamW, decayParamGroups, LARS, SGD } from "../../src/optim/mod.ts";
import { timeReps } from "../lib.ts";
import { byolResnet18, withGrads } from "./byol_params.ts";
import type { CaseParams } from "./params.ts";

export function run(p: CaseParams): { ms: Record<string, number>; tensors: number; numel: number } {
  const model = byolResnet18();
  const named = withGrads(model);
  const ms: Record<string, number> = {};
  {
    using o = new LARS(decayParamGroups(named), { lr: 1.0, weightDecay: 1e-5, momentum: 0.9 });
    ms.LARS = timeReps(() => o.step(), p).ms;
  }
  {
    using o = new AdamW(decayParamGroups(named), { lr: 1e-3, weightDecay: 1e-6 });
    ms.AdamW = timeReps(() => o.step(), p).ms;
  }
  {
    using o = new SGD(decayParamGroups(named), { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
    ms.SGD = timeReps(() => o.step(), p).ms;
  }
  const numel = named.reduce((n, [, t]) => n + t.numel, 0);
  model.dispose();
  return { ms, tensors: named.length, numel };
}
