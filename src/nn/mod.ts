// torch.nn for this toolkit: Module, layers, ResNet backbones, the BYOL MLP.
export { Module, StateDictError, type TensorSlot } from "./module.ts";
export {
  AdaptiveAvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  BatchNormBase,
  type BatchNormOptions,
  Conv2d,
  type Conv2dOptions,
  Flatten,
  Identity,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
} from "./layers.ts";
export { convertSyncBatchNorm, SyncBatchNorm } from "./sync_batchnorm.ts";
export { ResNet, resnet18, resnet34, resnet50, type ResNetOptions } from "./resnet.ts";
export { mlp } from "./mlp.ts";
export { ConvNet, convNet, type ConvNetOptions } from "./convnet.ts";
export * as init from "./init.ts";
