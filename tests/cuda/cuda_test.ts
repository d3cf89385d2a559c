// CUDA checks: skipped (ignored) where no GPU is visible, run by
// scripts/gpu_check.sh on a machine with PyTorch 2.x + CUDA.
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
  tidy,
} from "../../mod.ts";
import { assertNormClose } from "../helpers/assert.ts";
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

Deno.test({ name: "CUDA: a ResNet-18 forward/backward matches the CPU", ignore }, () => {
  manualSeed(1);
  const cpuModel = nn.resnet18({ stem: "cifar" });
  const gpuModel = nn.resnet18({ stem: "cifar" });
  gpuModel.loadStateDict(cpuModel.stateDict());
  gpuModel.to("cuda");
  const x = randn([8, 3, 32, 32]);
  const yc = tidy(() => cpuModel.forward(x));
  const yg = tidy(() => gpuModel.forward(x.to("cuda")).cpu());
  assertNormClose(yg, yc, 1e-3, "train-mode forward");
  tidy(() => gpuModel.forward(x.to("cuda")).sum().backward());
  assert(gpuModel.parameters().every((p) => p.grad !== null));
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
