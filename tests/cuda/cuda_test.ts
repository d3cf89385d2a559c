// CUDA checks: skipped (ignored) where no GPU is visible, run by
// scripts/gpu_check.sh on a machine with PyTorch 2.x + CUDA. One CPU test runs
// everywhere: the TF32 bound of the ResNet-18 comparison, against TF32's
// conversions emulated on the CPU.
import { assert, assertEquals } from "../helpers/asserts.ts";
import {
  autocast,
  BYOL,
  cuda,
  F,
  Generator,
  manualSeed,
  nn,
  noGrad,
  randn,
  type Tensor,
  tidy,
} from "../../mod.ts";
import { assertNormClose, normRelError } from "../helpers/assert.ts";
import { reference } from "../helpers/reference.ts";
import { resolveConfig } from "../../src/train/config.ts";
import { Trainer } from "../../src/train/trainer.ts";

const ignore = !cuda.isAvailable();

Deno.test({ name: "CUDA: tensors round-trip and ops equal the CPU's", ignore }, () => {
  manualSeed(0);
  const a = randn([64, 32]);
  const b = randn([32, 16]);
  const ga = a.to({ device: "cuda" });
  assertEquals(ga.device, "cuda:0");
  assertEquals(ga.cpu().toArray(), a.toArray());
  const gpu = tidy(() => ga.matmul(b.to("cuda")).relu().cpu());
  const cpu = tidy(() => a.matmul(b).relu());
  assertNormClose(gpu, cpu, 1e-3, "matmul+relu");
  cuda.synchronize();
});

/**
 * How far a CUDA ResNet-18 forward may lie from the CPU's: cuDNN runs float32 convolutions on
 * TF32 tensor cores by default (PyTorch's allow_tf32 for cuDNN), which keep 10 of float32's 23
 * mantissa bits of each input and each weight and accumulate in float32. TF32's unit roundoff
 * is u = 2^-11 (4.9e-4) for a rounded conversion and twice that for a truncated one (whether a
 * kernel rounds, or its tensor cores drop the low 13 bits, is the kernel's choice), so each
 * conversion is a relative error below 2u. The longest path through ResNet-18 with the CIFAR
 * stem has 17 convolutions (the stem and two per block; the three 1x1 downsamples run beside
 * it), each converting its input and its weight: 34 conversions. Every convolution is followed
 * by a train-mode BatchNorm, which divides by the batch's standard deviation, so a relative
 * error passes on unamplified, and errors of conversions add, to first order: the normwise
 * error (max |gpu - cpu| / max |cpu|) is at most 34 * 2u = 68u = 3.3e-2. The float32 sums on
 * both sides (fan-in up to 4608) err by about sqrt(n) 2^-24 = 4e-6 a layer, two orders below.
 * Emulated on the CPU (the test below), the conversions give 2.4e-3 for these weights (rounded
 * 4.9u, truncated 5.0u; 4.4u to 6.2u over five other seeds), about sqrt(34) u: errors of random
 * sign add like a random walk, well inside the bound. An H200 (torch 2.11, cuDNN's own choice
 * of kernels) gave 1.7e-3 and 2.1e-3, under the old 1e-3 only with NVIDIA_TF32_OVERRIDE=0. A
 * wrong kernel (a spatially flipped weight, emulated: 0.64), layout or BatchNorm gives errors
 * of order 1.
 */
const U_TF32 = 2 ** -11;
const RESNET18_TF32_TOL = 17 * 2 * 2 * U_TF32;

/** The ResNet-18 (CIFAR stem, train mode) and the batch both ResNet tests use. */
function resnetCase() {
  manualSeed(1);
  const model = nn.resnet18({ stem: "cifar" });
  const x = randn([8, 3, 32, 32]);
  return { model, x };
}

Deno.test({ name: "CUDA: a ResNet-18 forward/backward matches the CPU", ignore }, () => {
  const { model: cpuModel, x } = resnetCase();
  const gpuModel = nn.resnet18({ stem: "cifar" });
  gpuModel.loadStateDict(cpuModel.stateDict());
  gpuModel.to("cuda");
  const yc = tidy(() => cpuModel.forward(x));
  const yg = tidy(() => gpuModel.forward(x.to("cuda")).cpu());
  assertNormClose(yg, yc, RESNET18_TF32_TOL, "train-mode forward (TF32 convolutions)");
  tidy(() => gpuModel.forward(x.to("cuda")).sum().backward());
  assert(gpuModel.parameters().every((p) => p.grad !== null));
});

// The CUDA test's bound against TF32 itself, on any machine: torchvision's ResNet-18 with our
// weights, every convolution's input and weight converted to TF32 (rounded, and truncated) by
// hand, against the same model in float32.
Deno.test("TF32 conversions emulated on the CPU keep a ResNet-18 forward within the CUDA test's bound", async () => {
  const { model, x } = resnetCase();
  const inputs: Record<string, Tensor> = { x };
  for (const [k, t] of Object.entries(model.stateDict())) inputs[`w.${k}`] = t.clone();
  const ours = tidy(() => model.train().forward(x));
  const ref = await reference(
    `
import copy, torchvision, torch.nn as nn
m = torchvision.models.resnet18()
m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False); m.maxpool = nn.Identity(); m.fc = nn.Identity()
m.load_state_dict({k[2:]: v for k, v in inp.items() if k.startswith("w.")})
m.train()
def tf32(t, chop):  # keep 10 of 23 mantissa bits: round half away (cvt.rna), or truncate
    i = t.contiguous().view(torch.int32)
    i = (i if chop else i + 0x1000) & ~0x1FFF
    return i.view(torch.float32).view(t.shape)
with torch.no_grad():
    out["fp32"] = copy.deepcopy(m)(inp["x"])
    for name, chop in (("rounded", False), ("truncated", True)):
        mt = copy.deepcopy(m)
        for c in mt.modules():
            if isinstance(c, nn.Conv2d):
                c.weight.copy_(tf32(c.weight, chop))
                c.register_forward_pre_hook(lambda mod, a, chop=chop: (tf32(a[0], chop),))
        out[name] = mt(inp["x"])
`,
    inputs,
  );
  assertNormClose(ours, ref.fp32, 1e-4, "our float32 forward vs torchvision's");
  for (const mode of ["rounded", "truncated"]) {
    const e = normRelError(ref[mode], ref.fp32);
    assert(e >= U_TF32 / 8, `TF32 ${mode}: error ${e}: the emulation rounded nothing`);
    assert(e <= RESNET18_TF32_TOL, `TF32 ${mode}: normwise error ${e} > ${RESNET18_TF32_TOL}`);
  }
});

Deno.test({ name: "CUDA: autocast runs convolutions and matmuls in bfloat16", ignore }, () => {
  const x = randn([4, 8], { device: "cuda" });
  const w = randn([8, 8], { device: "cuda" });
  const y = autocast(() => F.linear(x, w));
  assertEquals(y.dtype, "bfloat16");
  assertEquals(F.linear(x, w).dtype, "float32");
});

Deno.test({ name: "CUDA: generators are seeded and reproducible on the device", ignore }, () => {
  const g1 = new Generator(5, { device: "cuda" });
  const g2 = new Generator(5, { device: "cuda" });
  assertEquals(g1.rand([16]).cpu().toArray(), g2.rand([16]).cpu().toArray());
});

Deno.test({ name: "CUDA: BYOL steps and the EMA update run on the device", ignore }, () => {
  manualSeed(2);
  const enc = nn.resnet18({ stem: "cifar" }).to("cuda").channelsLast();
  const m2 = new BYOL(enc, { hiddenDim: 256, projectionDim: 64 });
  assertEquals(m2.projector.parameters()[0].device, "cuda:0");
  assert(Object.values(m2.targetStateDict()).every((t) => t.device === "cuda:0"));
  const v = randn([16, 3, 32, 32], { device: "cuda" });
  const loss = tidy(() => {
    const l = autocast(() => m2.loss(v, v.flip(3)));
    l.backward();
    noGrad(() => m2.updateTarget(0, 10));
    return l.item();
  });
  assert(Number.isFinite(loss), `loss ${loss}`);
});

Deno.test(
  { name: "CUDA: the trainer runs a few steps with --device cuda --amp", ignore },
  async () => {
    const dir = await Deno.makeTempDir();
    const cfg = resolveConfig(undefined, {
      limit: 1024,
      maxSteps: 6,
      batchSize: 128,
      device: "cuda",
      amp: true,
      knnEvery: 0,
      evaluate: false,
      out: dir,
      logEvery: 1,
    });
    const t = await Trainer.create(cfg);
    const r = await t.run();
    assertEquals(r.steps, 6);
    assert(Number.isFinite(r.lastLoss));
    t.dispose();
  },
);
