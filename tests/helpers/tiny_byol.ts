// A small BYOL fixture shared by the BYOL, step and precision tests: an encoder
// (conv, BN, ReLU, pool) and its PyTorch twin. Kept out of the test files so
// importing it does not register their tests again.
import { nn, type Tensor } from "../../mod.ts";

/**
 * PyTorch twin of a BYOL over TinyEncoder (hidden 32, projection 16): builds
 * enc, proj, pred from the `w.`-prefixed state in `inp`, and the target copies
 * t_enc, t_proj.
 */
export const TINY_BYOL_PY = `import torch.nn as nn, copy, math
def mlp(i, o, h): return nn.Sequential(nn.Linear(i, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Linear(h, o))
enc = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
proj, pred = mlp(8, 16, 32), mlp(16, 16, 32)
w = {k[2:]: v for k, v in inp.items() if k.startswith("w.")}
enc.load_state_dict({k[len("encoder.body."):]: v for k, v in w.items() if k.startswith("encoder.")})
proj.load_state_dict({k[len("projector."):]: v for k, v in w.items() if k.startswith("projector.")})
pred.load_state_dict({k[len("predictor."):]: v for k, v in w.items() if k.startswith("predictor.")})
t_enc, t_proj = copy.deepcopy(enc), copy.deepcopy(proj)
`;

/** A small encoder for fast tests: conv, BN, ReLU, pool (outDim 8). */
export class TinyEncoder extends nn.Module {
  readonly outDim = 8;
  readonly body: nn.Sequential;
  constructor(inChannels = 1) {
    super();
    this.body = this.registerModule(
      "body",
      new nn.Sequential(
        new nn.Conv2d(inChannels, 8, 3, { padding: 1 }),
        new nn.BatchNorm2d(8),
        new nn.ReLU(),
        new nn.AdaptiveAvgPool2d(1),
        new nn.Flatten(),
      ),
    );
  }
  forward(x: Tensor): Tensor {
    return this.body.forward(x);
  }
}
