// What every optimizer shares: zeroGrad, lr control, groups, validation, memory.
import { AdamW, LARS, SGD } from "../../src/optim/mod.ts";
import { liveTensorCount, randn, type Tensor, tidy, TorchError, zeros } from "../../mod.ts";
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
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
