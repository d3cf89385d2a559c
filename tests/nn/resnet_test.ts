// ResNet backbones equal torchvision's with the same weights (moved through
// safetensors), in eval and train mode, both stems, 1 and 3 input channels.
// Error is normwise (max |a - b| / max |b|): the two sides may split work over
// different thread counts, so sums round differently in the last bits.
import { assert, assertEquals } from "../helpers/asserts.ts";
import { manualSeed, nn, randn, setNumThreads, type Tensor, tidy } from "../../mod.ts";
setNumThreads(navigator.hardwareConcurrency || 2); // as the reference does
import { reference } from "../helpers/reference.ts";
import { assertNormClose, normRelError } from "../helpers/assert.ts";

/** Python that builds torchvision's model `m` shaped like ours. */
export const tvModel = (arch: string, stem: string, inC: number): string => `
import torchvision, torch.nn as nn
m = torchvision.models.${arch}()
if "${stem}" == "cifar":
    m.conv1 = nn.Conv2d(${inC}, 64, 3, 1, 1, bias=False)
    m.maxpool = nn.Identity()
elif ${inC} != 3:
    m.conv1 = nn.Conv2d(${inC}, 64, 7, 2, 3, bias=False)
m.fc = nn.Identity()
`;

const CASES = [
  ["resnet18", "cifar", 3, 16],
  ["resnet18", "imagenet", 1, 32],
  ["resnet18", "cifar", 1, 12],
  ["resnet18", "imagenet", 3, 40],
  ["resnet50", "cifar", 3, 8],
  ["resnet50", "imagenet", 1, 32],
] as const;

for (const [arch, stem, inC, size] of CASES) {
  Deno.test(`${arch}, ${stem} stem, ${inC} channel(s): forward equals torchvision in eval and train mode`, async () => {
    manualSeed(7);
    const model = (arch === "resnet18" ? nn.resnet18 : nn.resnet50)({ inChannels: inC, stem });
    const inputs: Record<string, Tensor> = { x: randn([4, inC, size, size]) };
    for (const [k, t] of Object.entries(model.stateDict())) inputs[`w.${k}`] = t.clone();
    const evalOut = tidy(() => model.eval().forward(inputs.x));
    const trainOut = tidy(() => model.train().forward(inputs.x));
    const ref = await reference(
      tvModel(arch, stem, inC) + `
sd = {k[2:]: v for k, v in inp.items() if k.startswith("w.")}
tv_keys = set(m.state_dict().keys())
out["missing"] = torch.tensor(len(tv_keys - set(sd)))
out["unexpected"] = torch.tensor(len(set(sd) - tv_keys))
m.load_state_dict(sd)
with torch.no_grad():
    out["eval"] = m.eval()(inp["x"])
    out["train"] = m.train()(inp["x"])
for k, v in m.state_dict().items():
    out["after." + k] = v
`,
      inputs,
    );
    assertEquals(ref.missing.item(), 0, "torchvision keys we lack");
    assertEquals(ref.unexpected.item(), 0, "our keys torchvision lacks");
    assertEquals(evalOut.shape, [4, model.outDim]);
    assertNormClose(evalOut, ref.eval, 1e-4, "eval forward");
    assertNormClose(trainOut, ref.train, 1e-4, "train forward");
    // Running statistics and batch counters moved the same way.
    for (const [k, t] of Object.entries(model.stateDict())) {
      const e = normRelError(
        t.to({ dtype: "float64" }),
        ref[`after.${k}`].to({ dtype: "float64" }),
      );
      assert(e <= 1e-4, `${k} after a train step: relative error ${e}`);
    }
  });
}

Deno.test("resnet34 keys and shapes equal torchvision's minus fc", async () => {
  const model = nn.resnet34();
  const ref = await reference(`
import torchvision
for k, v in torchvision.models.resnet34().state_dict().items():
    if not k.startswith("fc."): out[k] = torch.tensor(list(v.shape), dtype=torch.int64)
`);
  const ours = model.stateDict();
  assertEquals(Object.keys(ours).sort(), Object.keys(ref).sort());
  for (const [k, t] of Object.entries(ours)) assertEquals(t.shape, ref[k].toArray(), k);
  assertEquals(model.outDim, 512);
  assertEquals(nn.resnet50().outDim, 2048);
});

Deno.test("initialisation follows torchvision: kaiming fan-out convs, BN 1/0, zero-init residual", () => {
  manualSeed(3);
  const model = nn.resnet18({ zeroInitResidual: true });
  const sd = model.stateDict();
  const w = sd["layer3.0.conv1.weight"]; // 256 x 128 x 3 x 3, fan_out = 256 * 9
  const std = w.std().item();
  const expected = Math.sqrt(2 / (256 * 9));
  assert(Math.abs(std / expected - 1) < 0.02, `conv std ${std} vs ${expected}`);
  assertEquals(Math.abs(w.mean().item()) < 1e-3, true);
  assertEquals(sd["bn1.weight"].sum().item(), 64);
  assertEquals(sd["bn1.bias"].abs().sum().item(), 0);
  assertEquals(sd["layer1.0.bn2.weight"].abs().sum().item(), 0);
  assertEquals(sd["layer1.0.bn1.weight"].sum().item(), 64);
});

Deno.test("channelsLast keeps names, values and outputs; autocast is a no-op for CPU tensors", async () => {
  const { autocast } = await import("../../mod.ts");
  manualSeed(8);
  const model = nn.resnet18({ stem: "cifar" }).eval();
  const x = randn([2, 3, 16, 16]);
  const before = tidy(() => model.forward(x));
  const keys = Object.keys(model.stateDict());
  model.channelsLast();
  assertEquals(Object.keys(model.stateDict()), keys);
  assert(!model.stateDict()["conv1.weight"].isContiguous, "conv weights are NHWC now");
  assert(model.stateDict()["conv1.weight"].requiresGrad);
  const after = tidy(() => model.forward(x.contiguous("channelsLast")));
  assertNormClose(after, before, 1e-5, "channels-last forward");
  const amp = tidy(() => autocast(() => model.forward(x)));
  assertEquals(amp.dtype, "float32");
});

Deno.test("resnet18 and resnet50 gradients equal torchvision's (in-place ReLU and residual add)", async () => {
  for (const arch of ["resnet18", "resnet50"] as const) {
    manualSeed(12);
    const model = (arch === "resnet18" ? nn.resnet18 : nn.resnet50)({
      stem: "cifar",
      inChannels: 1,
    });
    const inputs: Record<string, Tensor> = { x: randn([4, 1, 8, 8]) };
    for (const [k, t] of Object.entries(model.stateDict())) inputs[`w.${k}`] = t.clone();
    tidy(() => model.forward(inputs.x).square().sum().backward());
    const ref = await reference(
      tvModel(arch, "cifar", 1) + `
m.load_state_dict({k[2:]: v for k, v in inp.items() if k.startswith("w.")})
m(inp["x"]).square().sum().backward()
for k, p in m.named_parameters(): out[k] = p.grad
`,
      inputs,
    );
    for (const [k, p] of model.namedParameters()) {
      assertNormClose(p.grad!, ref[k], 1e-4, `${arch} grad ${k}`);
    }
  }
});
