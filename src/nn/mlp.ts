// The projector and predictor of BYOL: Linear, BatchNorm1d, ReLU, Linear.
import * as A from "../../ffi/args.ts";
import { BatchNorm1d, Linear, ReLU, Sequential } from "./layers.ts";

export function mlp(inDim: number, outDim: number, hiddenDim = 4096): Sequential {
  A.posInt("mlp(inDim, outDim, hiddenDim)", "inDim", inDim);
  A.posInt("mlp(inDim, outDim, hiddenDim)", "outDim", outDim);
  A.posInt("mlp(inDim, outDim, hiddenDim)", "hiddenDim", hiddenDim);
  return new Sequential(
    new Linear(inDim, hiddenDim),
    new BatchNorm1d(hiddenDim),
    new ReLU(),
    new Linear(hiddenDim, outDim),
  );
}
