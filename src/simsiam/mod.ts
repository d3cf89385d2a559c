// The SimSiam method: loss term and model (one network, stop-gradient, no target).
export { negativeCosine } from "./loss.ts";
export { SimSiam, type SimSiamOptions, simsiamPredictor, simsiamProjector } from "./model.ts";
