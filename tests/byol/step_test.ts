// One whole BYOL training step (both views forward, loss, backward, LARS
// step, EMA update) equals a PyTorch reference step from the same weights and
// views; and a short run learns without collapsing.
import { assert, assertEquals } from "../helpers/asserts.ts";
import {
  augment,
  BYOL,
  data,
  Generator,
  manualSeed,
  optim,
  randn,
  setNumThreads,
  type Tensor,
  tidy,
} from "../../mod.ts";
import { reference } from "../helpers/reference.ts";
import { assertNormClose } from "../helpers/assert.ts";
import { TINY_BYOL_PY, TinyEncoder } from "../helpers/tiny_byol.ts";

setNumThreads(navigator.hardwareConcurrency || 2);

/**
 * Two whole steps against PyTorch's NCHW reference. With `channelsLast` ours
 * runs the trainer's layout: weights and views NHWC (the one-channel conv
 * weight and views too, whose NCHW memory is ambiguous), the fused EMA and the
 * optimizer over NHWC tensors.
 */
async function stepMatchesPyTorch(channelsLast: boolean) {
  // NHWC convolutions sum in another order. The conv bias before BN has a
  // gradient of pure rounding noise (BN cancels it), so its 2-step value
  // differs by ~1.4e-5 normwise there; everything else stays within 1e-5.
  const tol = channelsLast ? 5e-5 : 1e-5;
  manualSeed(9);
  const encoder = new TinyEncoder();
  if (channelsLast) {
    encoder.channelsLast();
    assertEquals(encoder.body.stateDict()["0.weight"].memoryFormat, "channelsLast");
  }
  const model = new BYOL(encoder, { hiddenDim: 32, projectionDim: 16, tauBase: 0.9 });
  let v1 = randn([6, 1, 8, 8]);
  let v2 = randn([6, 1, 8, 8]);
  const inputs: Record<string, Tensor> = { v1, v2 };
  if (channelsLast) {
    [v1, v2] = [v1.contiguous("channelsLast"), v2.contiguous("channelsLast")];
    assertEquals(v1.memoryFormat, "channelsLast");
  }
  for (const [k, t] of Object.entries(model.onlineStateDict())) inputs[`w.${k}`] = t.clone();
  const opt = new optim.LARS(optim.decayParamGroups(model.namedOnlineParameters()), {
    lr: 0.5,
    weightDecay: 1e-2,
    momentum: 0.9,
    trustCoefficient: 1e-3,
  });
  const losses: number[] = [];
  for (let step = 0; step < 2; step++) {
    tidy(() => {
      const loss = model.loss(v1, v2);
      losses.push(loss.item());
      opt.zeroGrad();
      loss.backward();
      opt.step();
      model.updateTarget(step, 10);
    });
  }
  const ref = await reference(
    `
${TINY_BYOL_PY}online = [("encoder.body." + k, p) for k, p in enc.named_parameters()] + \\
    [("projector." + k, p) for k, p in proj.named_parameters()] + [("predictor." + k, p) for k, p in pred.named_parameters()]
bufs = {k: torch.zeros_like(p) for k, p in online}
def loss_fn(x, y): return 2 - 2 * (F.normalize(x, dim=-1) * F.normalize(y, dim=-1)).sum(dim=-1)
x = torch.cat([inp["v1"], inp["v2"]])
for step in range(2):
    p1, p2 = pred(proj(enc(x))).chunk(2)
    with torch.no_grad(): z1, z2 = t_proj(t_enc(x)).chunk(2)
    loss = (loss_fn(p1, z2) + loss_fn(p2, z1)).mean()
    out["loss%d" % step] = loss
    for _, p in online: p.grad = None
    loss.backward()
    with torch.no_grad():
        # BYOL's LARS: biases and norm params (1-D) get no decay and no adaptation.
        for k, p in online:
            g = p.grad
            if p.ndim > 1:
                g = g + 1e-2 * p
                pn, gn = p.norm(), g.norm()
                one = torch.ones_like(pn)
                g = g * torch.where(pn > 0, torch.where(gn > 0, 1e-3 * pn / gn, one), one)
            bufs[k].mul_(0.9).add_(g)
            p.add_(bufs[k], alpha=-0.5)
        tau = 1 - (1 - 0.9) * (math.cos(math.pi * step / 10) + 1) / 2
        for (tn, tp), (_, op) in zip(list(t_enc.named_parameters()) + list(t_proj.named_parameters()),
                                     list(enc.named_parameters()) + list(proj.named_parameters())):
            tp.copy_(tau * tp + (1 - tau) * op)
        for tb, ob in zip(list(t_enc.buffers()) + list(t_proj.buffers()), list(enc.buffers()) + list(proj.buffers())):
            tb.copy_(ob)
for k, p in online: out["online." + k] = p
for k, v in t_enc.state_dict().items(): out["target.encoder.body." + k] = v
for k, v in t_proj.state_dict().items(): out["target.projector." + k] = v
for k, v in pred.state_dict().items(): out["online.predictor." + k] = v
for k, v in enc.state_dict().items(): out["online.encoder.body." + k] = v
for k, v in proj.state_dict().items(): out["online.projector." + k] = v
`,
    inputs,
  );
  for (let s = 0; s < 2; s++) {
    const diff = Math.abs(losses[s] - ref[`loss${s}`].item());
    assert(
      diff <= 1e-5 * Math.abs(losses[s]),
      `loss at step ${s}: ${losses[s]} vs ${ref[`loss${s}`].item()}`,
    );
  }
  for (const [k, t] of Object.entries(model.onlineStateDict())) {
    assertNormClose(
      t.to({ dtype: "float64" }),
      ref[`online.${k}`].to({ dtype: "float64" }),
      tol,
      `online ${k}`,
    );
  }
  for (const [k, t] of Object.entries(model.targetStateDict())) {
    assertNormClose(
      t.to({ dtype: "float64" }),
      ref[`target.${k}`].to({ dtype: "float64" }),
      tol,
      `target ${k}`,
    );
    if (channelsLast && t.ndim === 4) assertEquals(t.memoryFormat, "channelsLast", k);
  }
}

Deno.test("a whole BYOL step with LARS and the EMA update equals PyTorch's", async () => {
  await stepMatchesPyTorch(false);
});

Deno.test("the same step in channels-last (the trainer's layout) equals PyTorch's NCHW step", async () => {
  await stepMatchesPyTorch(true);
});

Deno.test("100 steps on a small synthetic set lower the loss, and the projections do not collapse", () => {
  manualSeed(0);
  // 256 synthetic 16x16 images: random blobs at random places, 4 shapes.
  const n = 256;
  const images = new Uint8Array(n * 16 * 16);
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < n; i++) {
    const cx = 3 + rnd() * 10;
    const cy = 3 + rnd() * 10;
    const r = 2 + (i % 4);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const d = Math.hypot(x - cx, y - cy);
        images[i * 256 + y * 16 + x] = d < r ? 220 : Math.floor(rnd() * 40);
      }
    }
  }
  const set: data.ImageSet = {
    length: n,
    channels: 1,
    height: 16,
    width: 16,
    images,
    labels: null,
    classes: null,
    source: "synthetic",
  };
  const loader = new data.ImageLoader(set, { batchSize: 64, seed: 0 });
  const views = augment.makeAugment("fashion-mnist", { size: 16 });
  const gen = new Generator(3);
  const model = new BYOL(new TinyEncoder(), { hiddenDim: 64, projectionDim: 16, tauBase: 0.99 });
  const opt = new optim.AdamW(model.onlineParameters(), { lr: 3e-3, weightDecay: 1e-6 });
  const losses: number[] = [];
  let step = 0;
  for (const batch of loader.batches()) {
    if (step === 100) break;
    losses.push(tidy(() => {
      const [v1, v2] = views.twoViews(batch.images, gen);
      const l = model.loss(v1, v2);
      opt.zeroGrad();
      l.backward();
      opt.step();
      model.updateTarget(step, 100);
      return l.item();
    }));
    batch.images.dispose();
    step++;
  }
  const first = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
  const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
  assert(last < 0.7 * first, `loss went from ${first} to ${last}`);
  // Collapse would map every image to the same direction: the per-dimension
  // std of the normalised projections would go to 0 (well spread over 16
  // dims it is about 1/sqrt(16) = 0.25). Measured on fresh views with batch
  // statistics, as in training.
  const std = tidy(() => {
    const batch = loader.batch(0, 0);
    const [v1] = views.twoViews(batch.images, gen);
    const z = model.projector.forward(model.encoder.forward(v1));
    const zn = z.div(z.norm({ dim: 1, keepdim: true }));
    return zn.std({ dim: 0 }).mean().item();
  });
  assert(std > 0.1, `projections collapsed: per-dimension std ${std}`);
  assertEquals(losses.length, 100);
});
