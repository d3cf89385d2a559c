/**
 * Process groups and collectives over c10d's Gloo backend, under
 * torch.distributed's names; a group may mix Deno and PyTorch ranks
 * (docs/DISTRIBUTED.md).
 * @module
 */
export {
  allGather,
  allReduce,
  allReduceBuckets,
  allReduceWithGrad,
  barrier,
  broadcast,
  destroyProcessGroup,
  getBackend,
  getRank,
  getWorldSize,
  initProcessGroup,
  isGlooAvailable,
  isInitialized,
  isNcclAvailable,
  ReduceOp,
} from "./group.ts";
export { type DDPOptions, DistributedDataParallel, type Replicable } from "./ddp.ts";
export { DEFAULT_TIMEOUT_MS, type InitOptions, resolveRendezvous } from "./rendezvous.ts";
export type { Rendezvous } from "./rendezvous.ts";
export { DEFAULT_BUCKET_BYTES, type ReduceOpName } from "../../ffi/distributed.ts";
