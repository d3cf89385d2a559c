/**
 * BYOL on libtorch from TypeScript: the public API.
 *
 * Tensors follow PyTorch's names in camelCase; keyword arguments become an
 * options object: `t.sum({ dim: 1, keepdim: true })`, `F.conv2d(x, w, b, { stride: 2 })`.
 * @module
 */
export { Tensor } from "./ffi/tensor.ts";
export type { NestedArray, ReduceOptions } from "./ffi/tensor.ts";
export {
  arange,
  cat,
  empty,
  emptyLike,
  full,
  fullLike,
  ones,
  onesLike,
  rand,
  randint,
  randLike,
  randn,
  randnLike,
  randperm,
  stack,
  tensor,
  where,
  zeros,
  zerosLike,
} from "./ffi/creation.ts";
export type { TensorOptions } from "./ffi/creation.ts";
export { determinismHint, TorchError } from "./ffi/error.ts";
export { Generator } from "./ffi/generator.ts";
export {
  capture,
  CUDA_GRAPHS_OFF,
  CUDAGraph,
  CUDAGraphError,
  cudaGraphsAvailable,
  withSideStream,
} from "./ffi/cuda_graph.ts";
export {
  type AdviceName,
  adviseRows,
  diskAvailable,
  mapFile,
  type MapFileOptions,
  tensorBytes,
} from "./ffi/files.ts";
export {
  copyNonBlocking,
  CudaEvent,
  indexSelectOut,
  isPinned,
  pinMemory,
  withCopyStream,
} from "./ffi/transfer.ts";
export { DType, type DTypeName } from "./ffi/dtype.ts";
export type { Device } from "./ffi/device.ts";
export { finalizedTensorCount, keep, liveTensorCount, tidy } from "./ffi/memory.ts";
export {
  autocast,
  compiledWithCuda,
  cpuCacheStats,
  cuda,
  cudnnAllowTf32,
  deterministicState,
  emptyCpuCache,
  enableGrad,
  ffiCalls,
  getFloat32MatmulPrecision,
  getNumThreads,
  getRngState,
  inferenceMode,
  isAutocastEnabled,
  isGradEnabled,
  manualSeed,
  noGrad,
  setCpuMemoryCaching,
  setCudnnAllowTf32,
  setFloat32MatmulPrecision,
  setNumThreads,
  setRngState,
  torchVersion,
  useDeterministicAlgorithms,
} from "./ffi/runtime.ts";
export type { AutocastOptions, Float32MatmulPrecision } from "./ffi/runtime.ts";
export * as F from "./ffi/functional.ts";
export * as nn from "./src/nn/mod.ts";
export { loadStateDictFile, saveStateDict } from "./src/io/tensors.ts";
export { SafetensorsError } from "./src/io/safetensors.ts";
export {
  EventFileError,
  EventFileWriter,
  type EventFileWriterOptions,
  readEventFile,
  type ReadEventFileOptions,
  type SessionStatus,
  type TfEvent,
  type TfImage,
  type TfValue,
} from "./src/io/tfevents.ts";
export { BYOL, byolLoss, type BYOLOptions, type Encoder, tauAt } from "./src/byol/mod.ts";
export { negativeCosine, SimSiam, type SimSiamOptions } from "./src/simsiam/mod.ts";
export type { Method, MethodOutput } from "./src/method/method.ts";
export * as data from "./src/data/mod.ts";
export * as augment from "./src/augment/mod.ts";
export * as optim from "./src/optim/mod.ts";
export * as evaluation from "./src/eval/mod.ts";
export * as distributed from "./src/distributed/mod.ts";
