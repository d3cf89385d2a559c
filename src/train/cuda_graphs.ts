// Whether a run's training step is captured in a CUDA graph (--cuda-graphs):
// decided once, before the run is built (a captured step needs capturable
// optimizers), from the settings, the device and what this libtorch has.
// Pure: no libtorch call here; the caller says whether CUDA graphs exist.
import { ConfigError } from "./settings.ts";

export interface GraphsChoice {
  /** Capture the step (graph_step.ts) or run it eagerly (step.ts). */
  on: boolean;
  /** What the run prints: the choice and why. */
  why: string;
}

/** What a captured step needs of a run; the first unmet need, or null. */
function obstacle(
  cfg: { accumulateGradBatches: number },
  device: string,
  worldSize: number,
  available: boolean,
  imagesOnHost: boolean,
): string | null {
  if (!device.startsWith("cuda")) return `the device is ${device}, and CUDA graphs need a GPU`;
  if (!available) {
    return "this libtorch has no CUDA graphs (the shim was built without CUDA's headers)";
  }
  if (worldSize > 1) {
    return `${worldSize} processes train together, and the gradient all-reduce runs outside ` +
      "a graph";
  }
  if (imagesOnHost) {
    return "the training images stay on the host (larger than the GPU's free memory) and " +
      "each batch is copied in, outside a graph";
  }
  if (cfg.accumulateGradBatches > 1) {
    return `--accumulate-grad-batches ${cfg.accumulateGradBatches} rewinds the augmentation ` +
      "generator between batches, which a graph cannot";
  }
  return null;
}

/**
 * --cuda-graphs auto | on | off for a run on `device` with `worldSize`
 * processes; `available`: whether the shim has CUDA graphs; `imagesOnHost`:
 * whether the loader keeps the images on the host. `on` with an
 * unmet need is refused with one line saying what to change.
 */
export function chooseCudaGraphs(
  cfg: { cudaGraphs: "auto" | "on" | "off"; accumulateGradBatches: number },
  device: string,
  worldSize: number,
  available: boolean,
  imagesOnHost = false,
): GraphsChoice {
  if (cfg.cudaGraphs === "off") return { on: false, why: "off (--cuda-graphs off)" };
  const why = obstacle(cfg, device, worldSize, available, imagesOnHost);
  if (why === null) {
    return {
      on: true,
      why: cfg.cudaGraphs === "on"
        ? "on (--cuda-graphs on)"
        : "on (auto: a one-process CUDA run; --cuda-graphs off to run the step eagerly)",
    };
  }
  if (cfg.cudaGraphs === "on") {
    throw new ConfigError(`--cuda-graphs on: ${why}; use --cuda-graphs auto or off`);
  }
  return { on: false, why: `off (auto: ${why})` };
}
