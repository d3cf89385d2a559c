// The kNN monitor's features in the run's precision: under bf16-mixed they are
// PyTorch's torch.autocast("cpu", bfloat16) eval-mode features of the same
// encoder and images (same libtorch, same kernels, same batches), and they are
// not the float32 ones.
import { assert } from "../helpers/asserts.ts";
import { manualSeed, randint, randn, setNumThreads, type Tensor, tidy } from "../../mod.ts";
import { reference } from "../helpers/reference.ts";
import { assertNormClose, normRelError } from "../helpers/assert.ts";
import { TinyEncoder } from "../helpers/tiny_byol.ts";
import { encoderFeatures } from "../../src/train/monitor.ts";

setNumThreads(navigator.hardwareConcurrency || 2);

Deno.test("monitor features: bf16-mixed equals torch.autocast('cpu') eval features, 32 equals float32", async () => {
  manualSeed(3);
  const encoder = new TinyEncoder();
  // Running statistics away from 0 / 1, so eval mode's batch norm is not the identity.
  tidy(() => encoder.forward(randn([16, 1, 8, 8]).mul(2).add(0.5)));
  const images = randint(0, 256, [20, 1, 8, 8], { dtype: "uint8" });
  const norm = { mean: [0.3], std: [0.4] };
  const batchSize = 8; // three batches, the last one short
  const inputs: Record<string, Tensor> = { images };
  for (const [k, t] of Object.entries(encoder.stateDict())) inputs[`w.${k}`] = t.clone();
  using bf16 = encoderFeatures(encoder, images, norm, { batchSize, precision: "bf16-mixed" });
  using fp32 = encoderFeatures(encoder, images, norm, { batchSize, precision: "32" });
  assert(bf16.dtype === "float32", `features are ${bf16.dtype}`);
  const ref = await reference(
    `
import torch.nn as nn
enc = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
enc.load_state_dict({k[len("w.body."):]: v for k, v in inp.items() if k.startswith("w.body.")})
enc.eval()
# The normalisation as the extractor computes it: x * (1/255/std) + (-mean/std), in float32.
mul = torch.tensor([1 / 255 / 0.4], dtype=torch.float32).view(1, 1, 1, 1)
add = torch.tensor([-0.3 / 0.4], dtype=torch.float32).view(1, 1, 1, 1)
def feats(bf16):
    rows = []
    with torch.no_grad():
        for x in inp["images"].split(${batchSize}):
            x = x.float() * mul + add
            if bf16:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    rows.append(enc(x).float())
            else:
                rows.append(enc(x))
    return torch.cat(rows)
out["bf16"] = feats(True)
out["fp32"] = feats(False)
`,
    inputs,
  );
  assertNormClose(fp32, ref.fp32, 1e-5, "float32 features");
  assertNormClose(bf16, ref.bf16, 1e-5, "bf16-mixed features");
  // bf16 rounding moves the features by far more than the tolerance above.
  const gap = normRelError(bf16, ref.fp32);
  assert(
    gap > 1e-4,
    `bf16-mixed features equal the float32 ones (${gap}): autocast was not applied`,
  );
});
