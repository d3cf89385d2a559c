/**
 * Optimizers (one fused FFI call per parameter group and step) and schedules.
 * @module
 */
export { Optimizer } from "./optimizer.ts";
export type {
  BaseOptions,
  CapturableOption,
  OptimizerMeta,
  OptimizerStateDict,
  ParamGroup,
  Params,
  ResolvedGroup,
} from "./optimizer.ts";
export { SGD, type SGDOptions } from "./sgd.ts";
export { AdamW, type AdamWInit, type AdamWOptions } from "./adamw.ts";
export { excludeOneDim, LARS, type LARSExclude, type LARSInit, type LARSOptions } from "./lars.ts";
export { decayParamGroups, type ExcludedGroupOptions, isBiasOrNorm } from "./param_groups.ts";
export { cosineTau, warmupCosine, type WarmupCosineOptions } from "./schedule.ts";
