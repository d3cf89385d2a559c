// SimSiam (the second method behind the trainer's method seam): its loss and
// two whole SGD steps equal a PyTorch twin built as the paper's official code
// builds it (3-layer projector with BN on its output, bottleneck predictor,
// stop-gradient); its state round-trips and refuses another method's.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import {
  BYOL,
  cat,
  manualSeed,
  noGrad,
  optim,
  randn,
  SimSiam,
  type Tensor,
  tidy,
} from "../../mod.ts";
import { reference } from "../helpers/reference.ts";
import { assertNormClose } from "../helpers/assert.ts";
import { TinyEncoder } from "../helpers/tiny_byol.ts";

const TWIN_PY = `import torch.nn as nn, torch.nn.functional as F
w = {k[2:]: v for k, v in inp.items() if k.startswith("w.")}
enc = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
# The official SimSiam heads (facebookresearch/simsiam builder.py), dim 16, hidden 32, pred_dim 8.
proj = nn.Sequential(nn.Linear(8, 32, bias=False), nn.BatchNorm1d(32), nn.ReLU(),
                     nn.Linear(32, 32, bias=False), nn.BatchNorm1d(32), nn.ReLU(),
                     nn.Linear(32, 16, bias=False), nn.BatchNorm1d(16, affine=False))
pred = nn.Sequential(nn.Linear(16, 8, bias=False), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 16))
for name, m in (("online.encoder.body.", enc), ("online.projector.", proj), ("online.predictor.", pred)):
    m.load_state_dict({k[len(name):]: v for k, v in w.items() if k.startswith(name)})
params = list(enc.parameters()) + list(proj.parameters()) + list(pred.parameters())
opt = torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-4)
criterion = nn.CosineSimilarity(dim=1)
x = torch.cat([inp["v1"], inp["v2"]])
for step in range(2):
    z = proj(enc(x))
    p = pred(z)
    z1, z2 = z.chunk(2)
    p1, p2 = p.chunk(2)
    loss = -(criterion(p1, z2.detach()).mean() + criterion(p2, z1.detach()).mean()) * 0.5
    out["loss%d" % step] = loss
    opt.zero_grad()
    loss.backward()
    opt.step()
for name, m in (("online.encoder.body.", enc), ("online.projector.", proj), ("online.predictor.", pred)):
    for k, v in m.state_dict().items(): out[name + k] = v
`;

function tinySimSiam(): SimSiam {
  return new SimSiam(new TinyEncoder(), { projectionDim: 16, hiddenDim: 32, predictorDim: 8 });
}

Deno.test("SimSiam: the loss and two SGD steps equal the official code's in PyTorch", async () => {
  manualSeed(5);
  const model = tinySimSiam();
  const v1 = randn([6, 1, 8, 8]);
  const v2 = randn([6, 1, 8, 8]);
  const inputs: Record<string, Tensor> = { v1, v2 };
  for (const [k, t] of Object.entries(model.stateDict())) inputs[`w.${k}`] = t.clone();
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
  const losses: number[] = [];
  for (let step = 0; step < 2; step++) {
    tidy(() => {
      const loss = model.loss(v1, v2);
      losses.push(loss.item());
      opt.zeroGrad();
      loss.backward();
      opt.step();
      assertEquals(model.afterStep(step, 2), {}, "SimSiam reports no metric of its own");
    });
  }
  const ref = await reference(TWIN_PY, inputs);
  for (let s = 0; s < 2; s++) {
    const want = ref[`loss${s}`].item();
    // A mean of cosines in [-1, 1] from float32 sums of a few dozen terms.
    assert(Math.abs(losses[s] - want) <= 1e-5, `loss at step ${s}: ${losses[s]} vs ${want}`);
    assert(losses[s] >= -1 && losses[s] <= 1, `SimSiam's loss is in [-1, 1]: ${losses[s]}`);
  }
  for (const [k, t] of Object.entries(model.stateDict())) {
    if (k === "online.predictor.1.running_mean") {
      // The predictor's input is the projector's BN output (zero batch mean per
      // feature) through a bias-free Linear: its batch mean, and so this running
      // mean, is float32 rounding noise around 0, with no relative scale to
      // compare. Bound it absolutely: a few float32 ulps of the O(1) activations.
      const d = t.sub(ref[k]).abs().max().item();
      assert(d <= 1e-5 && ref[k].abs().max().item() <= 1e-5, `${k}: ${d}`);
      continue;
    }
    assertNormClose(t.to({ dtype: "float64" }), ref[k].to({ dtype: "float64" }), 1e-5, k);
  }
  model.dispose();
});

Deno.test("SimSiam: the stop-gradient: a step's gradient equals the one with z detached by hand", () => {
  // Without the detach, the gradient would also flow through z (the target
  // branch) and differ. Compare with -cos(p, z.detach()) written out by hand
  // over the same modules.
  manualSeed(6);
  const model = tinySimSiam();
  const v1 = randn([4, 1, 8, 8]);
  const v2 = randn([4, 1, 8, 8]);
  const grads = (loss: () => Tensor) =>
    tidy(() => {
      for (const p of model.parameters()) p.grad?.zero_();
      loss().backward();
      return model.parameters().map((p) => p.grad!.clone());
    });
  const ours = grads(() => model.loss(v1, v2));
  const byHand = grads(() => {
    // The same forward as SimSiam.forward: one concatenated batch.
    const xx = cat([v1, v2], 0);
    const z = model.projector.forward(model.encoder.forward(xx));
    const p = model.predictor.forward(z);
    const zd = z.detach();
    const [p1, p2] = p.chunk(2, 0);
    const [z1, z2] = zd.chunk(2, 0);
    const cos = (a: Tensor, b: Tensor) =>
      a.mul(b).sum({ dim: 1 }).div(a.norm({ dim: 1 }).mul(b.norm({ dim: 1 })));
    return cos(p1, z2).mean().add(cos(p2, z1).mean()).mul(-0.5);
  });
  // Normwise over all gradients at once: the conv bias before BatchNorm has a
  // gradient of pure rounding noise (BN cancels it), with no scale of its own.
  assertNormClose(
    cat(ours.map((g) => g.flatten()), 0),
    cat(byHand.map((g) => g.flatten()), 0),
    1e-5,
    "the gradients",
  );
  model.dispose();
});

Deno.test("SimSiam: stateDict round-trips; loading BYOL's state is refused naming the keys", () => {
  manualSeed(7);
  const a = tinySimSiam();
  const b = tinySimSiam();
  b.loadStateDict(a.stateDict());
  for (const [k, t] of Object.entries(a.stateDict())) {
    assertEquals(t.sub(b.stateDict()[k]).abs().max().item(), 0, k);
  }
  const byol = new BYOL(new TinyEncoder(), { hiddenDim: 32, projectionDim: 16 });
  const e = assertThrows(() => b.loadStateDict(byol.stateDict()));
  assert(/unexpected keys: target\./.test(e.message), e.message);
  // And BYOL refuses SimSiam's (its target is missing).
  const e2 = assertThrows(() => byol.loadStateDict(a.stateDict()));
  assert(/missing/.test(e2.message), e2.message);
  for (const m of [a, b, byol]) m.dispose();
});

Deno.test("BYOL: stateDict holds online and target under their prefixes and round-trips", () => {
  manualSeed(8);
  const a = new BYOL(new TinyEncoder(), { hiddenDim: 32, projectionDim: 16 });
  const b = new BYOL(new TinyEncoder(), { hiddenDim: 32, projectionDim: 16 });
  const keys = Object.keys(a.stateDict());
  assert(keys.some((k) => k.startsWith("online.encoder.")));
  assert(keys.some((k) => k.startsWith("online.predictor.")));
  assert(keys.some((k) => k.startsWith("target.projector.")));
  assert(keys.every((k) => k.startsWith("online.") || k.startsWith("target.")));
  // Make the target differ from the online network, then load it all into b.
  noGrad(() => {
    for (const p of a.onlineParameters()) p.add_(1);
  });
  b.loadStateDict(a.stateDict());
  for (const [k, t] of Object.entries(a.stateDict())) {
    assertEquals(t.sub(b.stateDict()[k]).abs().max().item(), 0, k);
  }
  for (const m of [a, b]) m.dispose();
});
