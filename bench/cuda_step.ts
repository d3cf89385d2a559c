// The CUDA BYOL step: ResNet-18 (CIFAR stem) at batch 512 in bf16 autocast,
// channels-last, cudnn benchmark, LARS, fused EMA; model-only (pre-made
// views) and end-to-end (uint8 dataset on the GPU + batched augmentation).
// Run by scripts/gpu_check.sh next to bench/py/cuda_step.py; prints JSON.
//   deno run -A bench/cuda_step.ts [batch] [steps]
import {
  augment,
  autocast,
  BYOL,
  cuda,
  Generator,
  manualSeed,
  nn,
  optim,
  randint,
  randn,
  tidy,
} from "../mod.ts";

const batch = Number(Deno.args[0] ?? 512);
const steps = Number(Deno.args[1] ?? 30);
if (!cuda.isAvailable()) {
  console.log(JSON.stringify({ error: "CUDA is not available to the shim" }));
  Deno.exit(1);
}
manualSeed(0);
cuda.setCudnnBenchmark(true);
const encoder = nn.resnet18({ stem: "cifar" }).to("cuda").channelsLast();
const model = new BYOL(encoder, { projectionDim: 256, hiddenDim: 4096, device: "cuda" });
const opt = new optim.LARS(optim.decayParamGroups(model.namedOnlineParameters()), {
  lr: 1.0,
  weightDecay: 1e-5,
});
const views = augment.makeAugment("cifar");
const gen = new Generator(1, { device: "cuda" });
const data = randint(0, 256, [8192, 3, 32, 32], { dtype: "uint8", device: "cuda" }).keep();
const v1 = randn([batch, 3, 32, 32], { device: "cuda" }).contiguous("channelsLast").keep();
const v2 = randn([batch, 3, 32, 32], { device: "cuda" }).contiguous("channelsLast").keep();
let k = 0;

function step(endToEnd: boolean): void {
  tidy(() => {
    let a = v1;
    let b = v2;
    if (endToEnd) {
      const idx = randint(0, 8192, [batch], { device: "cuda" });
      [a, b] = views.twoViews(data.indexSelect(0, idx), gen);
      a = a.contiguous("channelsLast");
      b = b.contiguous("channelsLast");
    }
    const loss = autocast(() => model.loss(a, b), { dtype: "bfloat16" });
    opt.zeroGrad();
    loss.backward();
    opt.step();
    model.updateTarget(k++, 10_000);
  });
}

function measure(endToEnd: boolean): number {
  for (let i = 0; i < 5; i++) step(endToEnd);
  cuda.synchronize();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step(endToEnd);
  cuda.synchronize();
  return (batch * steps) / ((performance.now() - t0) / 1000);
}

const modelOnly = measure(false);
const endToEnd = measure(true);
// ResNet-18 CIFAR stem at 32x32: ~0.56 GFLOP forward per image; a BYOL step
// is 2 views x (online fwd + bwd = 3x fwd, target fwd = 1x) per image pair.
const flopPerPair = 2 * 4 * 0.56e9;
console.log(JSON.stringify({
  side: "ours",
  batch,
  steps,
  modelOnlyPairsPerSec: modelOnly,
  endToEndPairsPerSec: endToEnd,
  modelOnlyTFLOPs: (modelOnly * flopPerPair) / 1e12,
}));
