// The notebook's exercise as a script: a plain BYOL training loop written only
// against mod.ts, for users who want their own loop. Run: deno run -A scripts/custom_loop.ts [steps]
import {
  augment,
  BYOL,
  data,
  evaluation,
  Generator,
  manualSeed,
  nn,
  optim,
  setNumThreads,
  tidy,
} from "../mod.ts";

const steps = Number(Deno.args[0] ?? 100);
manualSeed(0);
setNumThreads(navigator.hardwareConcurrency || 1);
// The dataset: Fashion-MNIST as uint8 images on the device, batches of 128.
const train = data.subset(await data.fashionMnist({ split: "train" }), 4096);
const loader = new data.ImageLoader(train, { batchSize: 128, seed: 0 });
// The two augmented views of each image, drawn per image from a seeded generator.
const views = augment.makeAugment("fashion-mnist");
const gen = new Generator(1);
// Online network = encoder + projector + predictor; the target is its EMA copy.
// Channels-last conv weights: oneDNN's (and cuDNN's) fastest layout.
const model = new BYOL(nn.convNet({ inChannels: 1 }).channelsLast(), {
  hiddenDim: 512,
  projectionDim: 128,
  tauBase: 0.99,
});
const opt = new optim.AdamW(model.onlineParameters(), { lr: 1e-3, weightDecay: 1e-6 });

let step = 0;
for (const batch of loader.batches()) {
  if (step === steps) break;
  const loss = tidy(() => {
    const [v1, v2] = views.twoViews(batch.images, gen); // two views of every image
    const l = model.loss(v1, v2); // symmetric 2 - 2cos over both view orders
    opt.zeroGrad();
    l.backward();
    opt.step(); // online network only
    model.updateTarget(step, steps); // EMA: target = tau target + (1 - tau) online
    return l.item();
  });
  batch.images.dispose();
  batch.labels?.dispose();
  if (step % 20 === 0 || step === steps - 1) console.log(`step ${step} loss ${loss.toFixed(4)}`);
  step++;
}

// A kNN check: train split as the bank, 1000 test images as queries.
const test = data.subset(await data.fashionMnist({ split: "test" }), 1000);
const testLoader = new data.ImageLoader(test, { batchSize: 1000, shuffle: false });
model.encoder.eval();
const norm = views.config.view1;
const fx = (images: Parameters<typeof evaluation.extractFeatures>[1]) =>
  evaluation.extractFeatures((x) => model.encoder.forward(x), images, { normalize: norm });
const bank = fx(loader.images);
const queries = fx(testLoader.images);
const { top1 } = evaluation.knnEvaluate(bank, loader.labels!, queries, testLoader.labels!, {
  k: 20,
});
console.log(`kNN-20 top-1 on 1000 test images: ${top1.toFixed(2)}%`);
