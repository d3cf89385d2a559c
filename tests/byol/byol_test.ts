// BYOL's loss, tau schedule and EMA update against closed forms and PyTorch.
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../helpers/asserts.ts";
import {
  BYOL,
  byolLoss,
  manualSeed,
  noGrad,
  randn,
  setNumThreads,
  tauAt,
  type Tensor,
  tidy,
  TorchError,
} from "../../mod.ts";
import { reference } from "../helpers/reference.ts";
import { assertClose, assertNormClose } from "../helpers/assert.ts";
import { TINY_BYOL_PY, TinyEncoder } from "../helpers/tiny_byol.ts";

setNumThreads(navigator.hardwareConcurrency || 2);

Deno.test("byolLoss equals the notebook's loss_fn in PyTorch", async () => {
  manualSeed(0);
  const inp = { p: randn([6, 16]), z: randn([6, 16]).mul(3) };
  const ours = byolLoss(inp.p, inp.z);
  const ref = await reference(
    `
x = F.normalize(inp["p"], dim=-1, p=2); y = F.normalize(inp["z"], dim=-1, p=2)
out["loss"] = 2 - 2 * (x * y).sum(dim=-1)
`,
    inp,
  );
  assertClose(ours, ref.loss, 1e-6, 1e-6);
  // Closed forms: identical directions give 0, opposite give 4.
  assertAlmostEquals(byolLoss(inp.p, inp.p.mul(2)).max().item(), 0, 1e-6);
  assertAlmostEquals(byolLoss(inp.p, inp.p.neg()).min().item(), 4, 1e-6);
});

Deno.test("tau schedule: tauBase at 0, (1 + tauBase)/2 at K/2, 1 at K", () => {
  assertAlmostEquals(tauAt(0, 1000, 0.996), 0.996, 1e-12);
  assertAlmostEquals(tauAt(500, 1000, 0.996), 0.998, 1e-12);
  assertAlmostEquals(tauAt(1000, 1000, 0.996), 1, 1e-12);
  assertAlmostEquals(tauAt(123, 1000, 0.99, "constant"), 0.99, 0);
});

Deno.test("the target is an exact copy at construction, and updateTarget is an exact EMA", () => {
  manualSeed(1);
  const model = new BYOL(new TinyEncoder(), { hiddenDim: 32, projectionDim: 16 });
  const target0 = Object.fromEntries(
    Object.entries(model.targetStateDict()).map(([k, t]) => [k, t.clone()]),
  );
  const online = {
    ...model.encoder.stateDict("encoder"),
    ...model.projector.stateDict("projector"),
  };
  for (const [k, t] of Object.entries(target0)) assertEquals(t.toArray(), online[k].toArray(), k);
  // Move the online weights and buffers, then update.
  noGrad(() => {
    for (const t of model.onlineParameters()) t.add_(randn(t.shape));
    for (const [, b] of model.encoder.namedBuffers()) if (b.dtype === "float32") b.add_(1);
  });
  const tau = model.updateTarget(250, 1000);
  assertAlmostEquals(tau, tauAt(250, 1000, 0.996), 0);
  const after = model.targetStateDict();
  for (const [k, t] of Object.entries(after)) {
    const o = online[k];
    if (k.includes("running_") || k.endsWith("num_batches_tracked")) {
      assertEquals(t.toArray(), o.toArray(), `${k} copied`);
    } else {
      const expected = tidy(() => target0[k].mul(tau).add(o.mul(1 - tau)));
      assertClose(t, expected, 1e-6, 1e-6, k);
      assert(k.startsWith("encoder.") || k.startsWith("projector."), k);
    }
  }
  assert(!Object.keys(after).some((k) => k.startsWith("predictor")), "no predictor in the target");
});

Deno.test("the loss equals PyTorch's BYOL forward with the same weights and views", async () => {
  manualSeed(2);
  const model = new BYOL(new TinyEncoder(), { hiddenDim: 32, projectionDim: 16 });
  const v1 = randn([5, 1, 8, 8]);
  const v2 = randn([5, 1, 8, 8]);
  const inputs: Record<string, Tensor> = { v1, v2 };
  for (const [k, t] of Object.entries(model.onlineStateDict())) inputs[`w.${k}`] = t.clone();
  const loss = model.loss(v1, v2);
  const ref = await reference(
    `
${TINY_BYOL_PY}def loss_fn(x, y):
    return 2 - 2 * (F.normalize(x, dim=-1) * F.normalize(y, dim=-1)).sum(dim=-1)
x = torch.cat([inp["v1"], inp["v2"]])
p1, p2 = pred(proj(enc(x))).chunk(2)
with torch.no_grad(): z1, z2 = t_proj(t_enc(x)).chunk(2)
out["loss"] = (loss_fn(p1, z2) + loss_fn(p2, z1)).mean()
`,
    inputs,
  );
  assertNormClose(loss, ref.loss, 1e-5, "loss");
});

// ---- the EMA lists follow a moved encoder (issue 11) ----

const SMALL = { hiddenDim: 32, projectionDim: 16 };

/** A BYOL over a TinyEncoder with fixed weights; `clFirst` moves the encoder before building. */
function tinyByol(clFirst: boolean): BYOL {
  manualSeed(21);
  const enc = new TinyEncoder(3);
  if (clFirst) enc.channelsLast();
  manualSeed(22);
  return new BYOL(enc, SMALL);
}

/** The same change to the online weights and BN buffers of either model. */
function perturb(model: BYOL): void {
  manualSeed(23);
  noGrad(() => {
    for (const t of model.onlineParameters()) tidy(() => t.add_(randn(t.shape)));
    for (const [, b] of model.encoder.namedBuffers()) if (b.dtype === "float32") b.add_(1);
  });
}

Deno.test("new BYOL(encoder), then encoder.channelsLast(), then updateTarget() equals channelsLast first", () => {
  const first = tinyByol(true);
  const later = tinyByol(false);
  later.encoder.channelsLast(); // after BYOL packed its EMA lists
  const conv = "encoder.body.0.weight";
  for (const m of [first, later]) {
    perturb(m);
    m.updateTarget(250, 1000);
  }
  const a = first.targetStateDict();
  const b = later.targetStateDict();
  for (const [k, t] of Object.entries(a)) assertEquals(b[k].toArray(), t.toArray(), k);
  assertEquals(b[conv].memoryFormat, "channelsLast", "the target copy took the online layout");
  // Both forwards run and agree.
  manualSeed(24);
  const v1 = randn([4, 3, 6, 6]);
  const v2 = randn([4, 3, 6, 6]);
  tidy(() => assertClose(later.loss(v1, v2), first.loss(v1, v2), 1e-5, 1e-5, "loss"));
  first.dispose();
  later.dispose();
});

Deno.test("a dtype move of the encoder alone after BYOL is a TorchError; byol.to() moves all", () => {
  const model = tinyByol(false);
  model.encoder.to("cpu", "float64");
  assertThrows(() => model.updateTarget(1, 10), TorchError, "byol.to(device, dtype)");
  manualSeed(25);
  const v = randn([2, 3, 6, 6]).to("float64");
  assertThrows(() => model.loss(v, v), TorchError, "move the encoder before building BYOL");
  model.to("cpu", "float64");
  for (const t of Object.values(model.targetStateDict())) {
    if (t.dtype !== "int64") assertEquals(t.dtype, "float64");
  }
  tidy(() => {
    const l = model.loss(v, v);
    assertEquals(l.dtype, "float64");
    assert(Number.isFinite(l.item()));
  });
  perturb(model);
  const tau = model.updateTarget(0, 10);
  const online = model.encoder.stateDict("encoder");
  const t = model.targetStateDict();
  assertEquals(
    t["encoder.body.1.running_mean"].toArray(),
    online["encoder.body.1.running_mean"].toArray(),
  );
  assert(tau < 1);
  model.dispose();
});

Deno.test("a disposed online or target tensor is a TorchError naming the list, not a crash", () => {
  const model = tinyByol(false);
  model.encoder.parameters()[0].dispose();
  assertThrows(
    () => model.updateTarget(1, 10),
    TorchError,
    "parameter 0 (encoder.body.0.weight) of the EMA online list was disposed",
  );
  const other = tinyByol(false);
  other.targetStateDict()["projector.0.bias"].dispose();
  assertThrows(() => other.updateTarget(1, 10), TorchError, "of the EMA target list was disposed");
  model.dispose();
  other.dispose();
});
