// Gradients of a composite function equal PyTorch's autograd on the same inputs.
import { assertEquals } from "../helpers/asserts.ts";
import { F, isGradEnabled, manualSeed, noGrad, randn, type Tensor, tidy } from "../../mod.ts";
import { reference } from "../helpers/reference.ts";
import { assertClose } from "../helpers/assert.ts";

Deno.test("gradients of matmul, conv2d, batch_norm, relu, normalize, sum equal PyTorch's", async () => {
  manualSeed(1);
  const inp = {
    x: randn([4, 3, 8, 8]),
    w: randn([6, 3, 3, 3]).mul(0.2),
    g: randn([6]),
    b: randn([6]),
    m: randn([6, 5]),
  };
  for (const t of Object.values(inp)) t.requiresGrad_();
  const loss = tidy(() => {
    const h = F.conv2d(inp.x, inp.w, null, { padding: 1, stride: 2 });
    const bn = F.batchNorm(h, { weight: inp.g, bias: inp.b, training: true });
    const pooled = F.adaptiveAvgPool2d(bn.relu(), 1).flatten(1);
    const z = F.normalize(pooled.matmul(inp.m), { dim: 1 });
    return z.mul(z.sum({ dim: 0 })).sum();
  });
  loss.backward();
  const ref = await reference(
    `
    for k in inp: inp[k].requires_grad_(True)
    x, w, g, b, m = inp['x'], inp['w'], inp['g'], inp['b'], inp['m']
    h = F.conv2d(x, w, None, padding=1, stride=2)
    bn = F.batch_norm(h, None, None, g, b, training=True)
    pooled = F.adaptive_avg_pool2d(bn.relu(), 1).flatten(1)
    z = F.normalize(pooled @ m, dim=1)
    loss = (z * z.sum(0)).sum()
    loss.backward()
    out['loss'] = loss
    for k in inp: out['grad_' + k] = inp[k].grad
    `,
    inp,
  );
  assertClose(loss, ref.loss, 1e-5, 1e-6, "loss");
  for (const [k, t] of Object.entries(inp)) {
    const g = t.grad as Tensor;
    assertEquals(g.shape, t.shape);
    assertClose(g, ref[`grad_${k}`], 1e-4, 1e-5, `grad of ${k}`);
  }
});

Deno.test("noGrad turns autograd off and restores it, also on throw", () => {
  const w = randn([3]).requiresGrad_();
  const y = noGrad(() => w.mul(2));
  assertEquals(y.requiresGrad, false);
  assertEquals(isGradEnabled(), true);
  try {
    noGrad(() => {
      throw new Error("boom");
    });
  } catch { /* expected */ }
  assertEquals(isGradEnabled(), true);
  const z = w.mul(2);
  assertEquals(z.requiresGrad, true);
});

Deno.test("backward with an explicit gradient, grad set and cleared", () => {
  const w = randn([3]).requiresGrad_();
  const y = w.mul(3);
  y.backward(randn([3]).mul(0).add(1));
  assertEquals((w.grad as Tensor).toArray(), [3, 3, 3]);
  w.grad = null;
  assertEquals(w.grad, null);
});
