// What every optimizer shares: zeroGrad, lr control, groups, validation, memory.
import { AdamW, LARS, SGD } from "../../src/optim/mod.ts";
import {
  liveTensorCount,
  manualSeed,
  nn,
  noGrad,
  randn,
  type Tensor,
  tensor,
  tidy,
  TorchError,
  zeros,
} from "../../mod.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { freshParams, problem, run } from "./_fixture.ts";

Deno.test("zeroGrad sets every grad to null, or to zeros with setToNone: false", () => {
  const p = problem(51);
  const params = freshParams(p);
  using opt = new SGD([{ params: params.slice(0, 1) }, { params: params.slice(1) }], { lr: 0.1 });
  params.forEach((t, i) => t.grad = p.grads[0][i].clone());
  opt.zeroGrad({ setToNone: false });
  for (const t of params) {
    const g = t.grad as Tensor;
    assertEquals(g.abs().sum().item(), 0);
    assertEquals(g.shape, t.shape);
  }
  opt.zeroGrad();
  for (const t of params) assertEquals(t.grad, null);
  opt.step(); // no grads: nothing moves
});

Deno.test("setLr scales by each group's lrScale; lr reads and writes the base", () => {
  const p = problem(52);
  const ps = freshParams(p);
  using opt = new AdamW([{ params: ps.slice(0, 2) }, { params: ps.slice(2), lrScale: 0.1 }], {
    lr: 1,
  });
  assertEquals(opt.paramGroups.map((g) => g.lr), [1, 0.1]);
  opt.setLr(0.5);
  assertEquals(opt.paramGroups.map((g) => g.lr), [0.5, 0.05]);
  opt.lr = 2;
  assertEquals([opt.lr, opt.paramGroups[1].lr], [2, 0.2]);
  opt.paramGroups[0].lr = 3; // per group, as torch's param_groups[i]['lr']
  assertEquals(opt.paramGroups[0].lr, 3);
  assertThrows(() => opt.setLr(-1), RangeError);
});

Deno.test("constructor checks: empty, duplicates, nesterov without momentum, names", () => {
  const w = randn([2, 2]);
  assertThrows(() => new SGD([], { lr: 0.1 }), TypeError, "empty");
  assertThrows(
    () => new SGD([{ params: [w] }, { params: [w] }], { lr: 0.1 }),
    TypeError,
    "more than one group",
  );
  assertThrows(() => new SGD([w], { lr: 0.1, nesterov: true }), RangeError, "Nesterov");
  assertThrows(() => new LARS([{ params: [w], names: [] }], { lr: 0.1 }), TypeError, "names");
  assertThrows(() => new AdamW([w], { betas: [1, 0.9] }), RangeError, "betas");
});

Deno.test("steps allocate nothing that lives on; state survives tidy; dispose frees the state", () => {
  const p = problem(53);
  const params = freshParams(p);
  const before = liveTensorCount();
  const opt = tidy(() => new AdamW(params, { lr: 0.01 }));
  assertEquals(liveTensorCount(), before + 2 * params.length, "exp_avg and exp_avg_sq are kept");
  run(opt, params, p, 0, 1);
  const afterOne = liveTensorCount();
  tidy(() => run(opt, params, p, 1, 5));
  assertEquals(liveTensorCount(), afterOne);
  opt.dispose();
  assertEquals(liveTensorCount(), afterOne - 2 * params.length);
  assertThrows(() => opt.step(), TypeError, "disposed");
});

Deno.test("a disposed parameter is caught before it reaches the shim", () => {
  const w = zeros([3]);
  using opt = new LARS([w, randn([2, 2])], { lr: 0.1 });
  w.dispose();
  assertThrows(() => opt.step(), TorchError, "parameter 0 of the LARS parameter list was disposed");
  assertThrows(() => opt.zeroGrad(), TorchError, "disposed");
  assert(!opt.isExcluded(0, 1) && opt.isExcluded(0, 0));
});

Deno.test("SGD without momentum keeps no state; turning momentum on later is refused", () => {
  const p = problem(54);
  const params = freshParams(p);
  const before = liveTensorCount();
  using opt = new SGD(params, { lr: 0.1 });
  assertEquals(liveTensorCount(), before);
  assertEquals(Object.keys(opt.stateDict().tensors), []);
  opt.paramGroups[0].momentum = 0.9;
  params.forEach((t, i) => t.grad = p.grads[0][i]);
  assertThrows(() => opt.step(), TypeError, "momentum");
});

// ---- optimizers follow parameters moved after construction (issue 11) ----

type MakeOpt = (ps: Tensor[]) => SGD | AdamW | LARS;
const MAKERS: [string, MakeOpt][] = [
  ["SGD", (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, weightDecay: 1e-3 })],
  ["AdamW", (ps) => new AdamW(ps, { lr: 0.01, weightDecay: 0.1 })],
  ["LARS", (ps) => new LARS(ps, { lr: 0.3, weightDecay: 1e-2 })],
];

function convNet(): nn.Sequential {
  return new nn.Sequential(new nn.Conv2d(2, 3, 3), new nn.Flatten(), new nn.Linear(12, 2));
}

/** Three steps with the same gradients (made in each parameter's dtype and layout). */
function steps(opt: SGD | AdamW | LARS, params: Tensor[], seed: number): void {
  manualSeed(seed);
  const gs = [0, 1, 2].map(() => params.map((p) => randn(p.shape).mul(0.5)));
  for (const g of gs) {
    tidy(() => params.forEach((p, i) => p.grad = g[i].to(p.dtype).contiguous(p.memoryFormat)));
    opt.step();
    opt.zeroGrad();
  }
}

for (const [kind, make] of MAKERS) {
  Deno.test(`${kind} built before model.to("cpu", "float64").channelsLast() steps the moved tensors`, () => {
    manualSeed(61);
    const a = convNet();
    const b = convNet();
    b.loadStateDict(a.stateDict());
    using before = make(a.parameters()); // built over the float32 NCHW tensors
    a.to("cpu", "float64").channelsLast();
    b.to("cpu", "float64").channelsLast();
    using after = make(b.parameters()); // the reference: built over the moved tensors
    steps(before, a.parameters(), 62);
    steps(after, b.parameters(), 62);
    const pb = b.parameters();
    a.parameters().forEach((p, i) => {
      assertEquals(p.dtype, "float64");
      assertEquals(p.toArray(), pb[i].toArray(), `param ${i}`);
    });
    for (const [k, t] of Object.entries(before.stateDict().tensors)) {
      assertEquals(t.dtype, "float64", `state ${k} followed its parameter`);
      assertEquals(t.toArray(), after.stateDict().tensors[k].toArray(), `state ${k}`);
    }
    assertEquals(a.parameters()[0].memoryFormat, "channelsLast");
    a.dispose();
    b.dispose();
  });
}

Deno.test("SGD momentum started in float32 follows its parameter to float64 (closed form)", () => {
  const w = new nn.Linear(2, 1, { bias: false });
  noGrad(() => w.weight.copy_(tensor([[1, -2]])));
  using opt = new SGD(w.parameters(), { lr: 0.5, momentum: 0.9 });
  w.weight.grad = tensor([[0.1, 0.3]]);
  opt.step(); // buf = g0, p1 = p0 - lr * g0 (float32)
  w.to("cpu", "float64");
  w.weight.grad = tensor([[0.2, -0.4]], { dtype: "float64" });
  opt.step(); // buf = 0.9 * g0 + g1, p2 = p1 - lr * buf (float64)
  const f = Math.fround;
  const p1 = [f(1 - f(0.5 * f(0.1))), f(-2 - f(0.5 * f(0.3)))];
  const buf = [0.9 * f(0.1) + 0.2, 0.9 * f(0.3) - 0.4];
  const want = p1.map((p, i) => p - 0.5 * buf[i]);
  const got = (w.weight.toArray() as number[][])[0];
  want.forEach((v, i) => assertAlmostEquals(got[i], v, 1e-7, `p[${i}]`));
  assertEquals(opt.stateDict().tensors["0.momentum_buffer"].dtype, "float64");
});

Deno.test("duplicate parameters are found by identity; distinct tensors with equal values are not", () => {
  const w = randn([2]);
  assertThrows(
    () => new SGD([{ params: [w] }, { params: [w] }], { lr: 0.1 }),
    TypeError,
    "more than one",
  );
  const twin = w.clone();
  using opt = new SGD([{ params: [w] }, { params: [twin] }], { lr: 0.1 });
  assertEquals(opt.paramGroups.length, 2);
});
