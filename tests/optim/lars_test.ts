// LARS equals BYOL's LARS formula (DeepMind's reference) written out in
// PyTorch; excluded parameters get neither decay nor adaptation.
import { decayParamGroups, LARS } from "../../src/optim/mod.ts";
import { noGrad, type Tensor } from "../../mod.ts";
import { assert, assertEquals } from "../helpers/asserts.ts";
import { assertBitExact } from "../helpers/assert.ts";
import { compare, freshParams, problem, run, torchRun } from "./_fixture.ts";

/** The formula; excl[i], lrs[i], wds[i] per parameter. */
function pyLars(
  excl: boolean[],
  lrs: number[],
  wds: number[],
  mom: number,
  eta: number,
  nest: boolean,
) {
  const list = (xs: unknown[]) =>
    `[${xs.map((x) => typeof x === "boolean" ? (x ? "True" : "False") : x).join(", ")}]`;
  return `
    excl, lrs, wds = ${list(excl)}, ${list(lrs)}, ${list(wds)}
    bufs = [torch.zeros_like(q) for q in ps]
    with torch.no_grad():
        for k in range(steps):
            feed(k)
            for i, q in enumerate(ps):
                u = q.grad
                if not excl[i]:
                    u = u + wds[i] * q
                    pn, un = q.norm(), u.norm()
                    r = eta * pn / un if pn > 0 and un > 0 else 1.0
                    u = u * r
                bufs[i] = ${mom} * bufs[i] + u
                d = u + ${mom} * bufs[i] if ${nest ? "True" : "False"} else bufs[i]
                q -= lrs[i] * d
    for i, q in enumerate(ps):
        out[f'p{i}'] = q
        out[f'buf{i}'] = bufs[i]
  `.replace("eta *", `${eta} *`);
}

Deno.test("LARS equals the BYOL LARS formula over 5 steps (1-D params excluded by default)", async () => {
  const p = problem(31);
  const params = freshParams(p);
  using opt = new LARS(params, { lr: 0.4, weightDecay: 1.5e-2, trustCoefficient: 2e-2 });
  run(opt, params, p);
  const excl = params.map((t) => t.ndim <= 1);
  assertEquals(excl, [false, false, true, true]);
  const ref = await torchRun(
    p,
    pyLars(excl, [0.4, 0.4, 0.4, 0.4], [1.5e-2, 1.5e-2, 1.5e-2, 1.5e-2], 0.9, 2e-2, false),
  );
  compare(params, opt, ref, { momentum_buffer: "buf" });
});

Deno.test("LARS with Nesterov, a custom exclude and a zero parameter equals the formula", async () => {
  const p = problem(32);
  const params = freshParams(p);
  noGrad(() => params[1].zero_()); // ||p|| = 0: ratio 1
  p.init[1] = params[1].clone(); // detach() would share storage with the stepped param
  using opt = new LARS([{ params, names: ["w", "conv", "b", "s"] }], {
    lr: 0.1,
    weightDecay: 1e-3,
    nesterov: true,
    momentum: 0.8,
    exclude: (name) => name === "w",
  });
  run(opt, params, p);
  const ref = await torchRun(
    p,
    pyLars(
      [true, false, false, false],
      [0.1, 0.1, 0.1, 0.1],
      [1e-3, 1e-3, 1e-3, 1e-3],
      0.8,
      1e-3,
      true,
    ),
  );
  compare(params, opt, ref, { momentum_buffer: "buf" });
});

Deno.test("LARS groups from decayParamGroups: own lr, excluded group untouched by decay and adaptation", async () => {
  const p = problem(33);
  const params = freshParams(p);
  const named: [string, Tensor][] = [
    ["layer.weight", params[0]],
    ["conv.weight", params[1]],
    ["layer.bias", params[2]],
    ["bn.weight", params[3]],
  ];
  const [decayed, excluded] = decayParamGroups(named);
  assertEquals(decayed.names, ["layer.weight", "conv.weight"]);
  assertEquals(excluded.names, ["layer.bias", "bn.weight"]);
  assertEquals([excluded.weightDecay, excluded.lars], [0, false]);
  // Exclude nothing by shape: only the group's lars: false excludes.
  using opt = new LARS([decayed, { ...excluded, lrScale: 0.5 }], {
    lr: 0.2,
    weightDecay: 1e-2,
    exclude: () => false,
  });
  assertEquals([opt.isExcluded(0, 0), opt.isExcluded(0, 1), opt.isExcluded(1, 0)], [
    false,
    false,
    true,
  ]);
  assertEquals(opt.paramGroups.map((g) => g.lr), [0.2, 0.1]);
  run(opt, params, p);
  const ref = await torchRun(
    p,
    pyLars([false, false, true, true], [0.2, 0.2, 0.1, 0.1], [1e-2, 1e-2, 0, 0], 0.9, 1e-3, false),
  );
  compare(params, opt, ref, { momentum_buffer: "buf" });
});

Deno.test("an excluded LARS parameter moves by exactly -lr * grad on its first step", () => {
  const p = problem(34, [[5], [3, 3]], 1);
  const params = freshParams(p);
  using opt = new LARS(params, { lr: 0.5, weightDecay: 0.1 });
  run(opt, params, p, 0, 1);
  const expected = noGrad(() => p.init[0].sub(p.grads[0][0], 0.5));
  assertBitExact(params[0], expected, "excluded bias");
  // The 2-D weight was adapted: its step is eta-scaled, far smaller than lr * grad.
  const moved = noGrad(() => params[1].sub(p.init[1]).norm().item());
  const plain = noGrad(() => p.grads[0][1].mul(0.5).norm().item());
  assert(moved < plain * 0.01, `adapted step ${moved} vs plain ${plain}`);
});
