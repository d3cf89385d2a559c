// The offline linear probe: known answers on synthetic features, and the same
// training trajectory as PyTorch's AdamW / SGD-Nesterov under the same protocol.
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { reference } from "../helpers/reference.ts";
import { liveTensorCount, manualSeed, randn, tensor } from "../../mod.ts";
import { linearProbe } from "../../src/eval/mod.ts";
import { binomialBand, clusters, noise } from "./_synthetic.ts";

Deno.test("well-separated clusters: 100% top-1 with AdamW and with SGD-Nesterov", () => {
  manualSeed(21);
  using centres = randn([10, 64]).mul(10);
  const train = clusters(centres, 5000);
  const test = clusters(centres, 1000);
  const before = liveTensorCount();
  for (const optimizer of ["adamw", "sgd"] as const) {
    const r = linearProbe(train.x, train.y, test.x, test.y, { optimizer, epochs: 5 });
    assertEquals([r.top1, r.top5], [100, 100], optimizer);
    assertEquals(r.epochs, 5);
    // 25 small steps from zero: well below chance's ln 10, not yet converged.
    assert(r.trainLoss < 0.8, `${optimizer} train loss ${r.trainLoss}`);
    const p = r.protocol;
    assertEquals(p.optimizer, optimizer);
    assertEquals([p.numTrain, p.numTest, p.featureDim, p.numClasses], [5000, 1000, 64, 10]);
    assertEquals([p.batchSize, p.steps], [1024, 5 * 5]);
  }
  assertEquals(liveTensorCount(), before, "the probe frees all it made");
  for (const t of [train.x, train.y, test.x, test.y]) t.dispose();
});

Deno.test("labels independent of the features: chance test accuracy within a binomial band", () => {
  manualSeed(22);
  const m = 3000;
  const train = noise(5000, 64, 10);
  const test = noise(m, 64, 10);
  const r = linearProbe(train.x, train.y, test.x, test.y, { epochs: 3 });
  assertAlmostEquals(r.top1, 10, binomialBand(m, 0.1), "top-1");
  assertAlmostEquals(r.top5, 50, binomialBand(m, 0.5), "top-5");
  assert(r.top5 >= r.top1, "top-5 >= top-1");
  for (const t of [train.x, train.y, test.x, test.y]) t.dispose();
});

// Full batch makes the trajectory independent of the shuffle, so PyTorch can
// replay the protocol step for step: standardise with train statistics, zero
// init, weight decay on the weight only, per-step cosine learning rate.
const TORCH_PROBE = (optimizer: string, lr: number, wd: number, epochs: number) => `
  import math
  x, y, xt, yt = inp['x'], inp['y'], inp['xt'], inp['yt']
  mean, std = x.mean(0, keepdim=True), x.std(0, unbiased=False, keepdim=True).clamp_min(1e-6)
  x, xt = (x - mean) / std, (xt - mean) / std
  W = torch.zeros(int(y.max()) + 1, x.shape[1], requires_grad=True)
  b = torch.zeros(W.shape[0], requires_grad=True)
  groups = [{'params': [W], 'weight_decay': ${wd}}, {'params': [b], 'weight_decay': 0.0}]
  opt = (torch.optim.AdamW(groups, lr=${lr}) if '${optimizer}' == 'adamw'
         else torch.optim.SGD(groups, lr=${lr}, momentum=0.9, nesterov=True))
  for t in range(${epochs}):
      for g in opt.param_groups: g['lr'] = 0.5 * ${lr} * (1 + math.cos(math.pi * t / ${epochs}))
      loss = F.cross_entropy(F.linear(x, W, b), y)
      opt.zero_grad(); loss.backward(); opt.step()
  pred = F.linear(xt, W, b).topk(5, dim=1).indices
  out['loss'] = loss.detach()
  out['top1'] = (pred[:, 0] == yt).double().mean() * 100
  out['top5'] = (pred == yt[:, None]).any(1).double().mean() * 100
`;

for (
  const [optimizer, lr, wd] of [["adamw", 5e-2, 0.5], ["sgd", 0.5, 1e-2]] as const
) {
  Deno.test(`full-batch ${optimizer} probe follows PyTorch's optimizer step for step`, async () => {
    manualSeed(23);
    // Overlapping clusters with a feature scale of ~5 and an offset, so
    // standardisation, weight decay and the schedule all matter.
    using centres = randn([6, 20]).mul(0.7);
    const train = clusters(centres, 600);
    const test = clusters(centres, 300);
    using x = train.x.mul(5).add(3);
    using xt = test.x.mul(5).add(3);
    const epochs = 25;
    const r = linearProbe(x, train.y, xt, test.y, {
      optimizer,
      lr,
      weightDecay: wd,
      epochs,
      batchSize: 100_000,
    });
    const ref = await reference(TORCH_PROBE(optimizer, lr, wd, epochs), {
      x,
      y: train.y,
      xt,
      yt: test.y,
    });
    assertAlmostEquals(r.trainLoss, ref.loss.item(), 1e-4 * ref.loss.item(), "last loss");
    assertAlmostEquals(r.top1, ref.top1.item(), 1e-9, "top-1");
    assertAlmostEquals(r.top5, ref.top5.item(), 1e-9, "top-5");
    assert(r.top1 > 40 && r.top1 < 100, `a probe with something to learn: ${r.top1}`);
    assertEquals(r.protocol.steps, epochs);
    for (const t of [train.x, train.y, test.x, test.y, ...Object.values(ref)]) t.dispose();
  });
}

Deno.test("linear probe rejects mismatched inputs and bad options", () => {
  using x = randn([8, 4]);
  using xt = randn([3, 5]);
  using y = tensor([0, 1, 0, 1, 0, 1, 0, 1], { dtype: "int64" });
  using yt = tensor([0, 1, 1], { dtype: "int64" });
  assertThrows(() => linearProbe(x, y, xt, yt), TypeError, "test features have 5 dims");
  assertThrows(() => linearProbe(x, yt, x, y), TypeError, "trainLabels must be 1-D with 8");
  assertThrows(() => linearProbe(x, y, x, y, { epochs: 0 }), RangeError, "epochs");
  assertThrows(() => linearProbe(x, y, x, y, { lr: -1 }), RangeError, "lr must be > 0");
});
