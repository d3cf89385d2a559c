// Evaluation of frozen encoders: feature extraction, the weighted kNN monitor
// and the offline linear probe.
export { extractFeatures, type ExtractOptions } from "./features.ts";
export {
  knnEvaluate,
  knnEvaluateMany,
  type KnnOptions,
  knnPredict,
  type KnnResult,
} from "./knn.ts";
export {
  linearProbe,
  type LinearProbeOptions,
  type LinearProbeProtocol,
  type LinearProbeResult,
} from "./linear_probe.ts";
