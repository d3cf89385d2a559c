// Builds methods from the registry (method_registry.ts): the one a config names.
import { BYOL } from "../byol/model.ts";
import { SimSiam } from "../simsiam/model.ts";
import type { Encoder, Method } from "../method/method.ts";
import { buildFromRegistry, type MethodClasses, type MethodName } from "./method_registry.ts";

const CLASSES: MethodClasses = { BYOL, SimSiam };

/** The method a config trains over `encoder` (already on `device`). */
export function buildMethod(
  cfg: {
    method: MethodName;
    projectionDim: number;
    hiddenDim: number;
    predictorDim: number;
    tauBase: number;
  },
  encoder: Encoder,
  opts: { device: string; syncBatchNorm: boolean },
): Method {
  return buildFromRegistry(CLASSES, cfg.method, encoder, cfg, opts);
}
