// Capturable optimizers (torch.optim's capturable=True: the lr and AdamW's step
// counts on the device) equal the plain ones step for step, over two parameter
// groups with different lrScale and an lr that changes between steps; their
// state dicts load into each other both ways. The FFI call counts of step()
// and setLr() are in tests/ffi/ffi_calls_test.ts (a child process: the count
// is process-wide).
import { AdamW, LARS, SGD } from "../../src/optim/mod.ts";
import { liveTensorCount, type Tensor } from "../../mod.ts";
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { assertClose, maxRelError } from "../helpers/assert.ts";
import { freshParams, type Problem, problem } from "./_fixture.ts";

type Opt = SGD | AdamW | LARS;
type Make = (params: Tensor[], capturable: boolean) => Opt;

const STEPS = 6;

/** Two groups: the matrix and the conv weight at lr, the two vectors at lr / 2. */
function groups(ps: Tensor[]) {
  return [{ params: ps.slice(0, 2) }, { params: ps.slice(2), lrScale: 0.5 }];
}

const KINDS: Array<[string, Make]> = [
  [
    "AdamW",
    (ps, capturable) =>
      new AdamW(groups(ps), {
        lr: 0.02,
        betas: [0.8, 0.99],
        eps: 1e-6,
        weightDecay: 0.05,
        capturable,
      }),
  ],
  [
    "AdamW without weight decay",
    (ps, capturable) => new AdamW(groups(ps), { lr: 0.01, weightDecay: 0, capturable }),
  ],
  ["SGD (plain)", (ps, capturable) => new SGD(groups(ps), { lr: 0.1, capturable })],
  [
    "SGD (momentum, dampening, weight decay)",
    (ps, capturable) =>
      new SGD(groups(ps), {
        lr: 0.05,
        momentum: 0.9,
        dampening: 0.3,
        weightDecay: 5e-3,
        capturable,
      }),
  ],
  [
    "SGD (Nesterov, weight decay)",
    (ps, capturable) =>
      new SGD(groups(ps), {
        lr: 0.05,
        momentum: 0.9,
        nesterov: true,
        weightDecay: 1e-2,
        capturable,
      }),
  ],
  [
    // The 1-D parameters (2 and 3) are excluded by default; so is the whole
    // second group, which holds them, and parameter 0 by name.
    "LARS (an excluded parameter in the adapted group)",
    (ps, capturable) =>
      new LARS([{ params: ps.slice(0, 2), names: ["w", "conv"] }, {
        params: ps.slice(2),
        lrScale: 0.5,
      }], {
        lr: 0.4,
        weightDecay: 1.5e-2,
        trustCoefficient: 2e-2,
        exclude: (name, p) => name === "w" || p.ndim <= 1,
        capturable,
      }),
  ],
  [
    "LARS (Nesterov)",
    (ps, capturable) =>
      new LARS(groups(ps), {
        lr: 0.2,
        weightDecay: 1e-3,
        momentum: 0.8,
        nesterov: true,
        capturable,
      }),
  ],
];

/**
 * Steps `from` to `to` with the problem's gradients. The base lr halves before
 * step 2 and triples before step 4; parameter 3 has no gradient at step 1.
 */
function steps(opt: Opt, params: Tensor[], p: Problem, from: number, to: number): void {
  for (let k = from; k < to; k++) {
    if (k === 2) opt.setLr(opt.lr * 0.5);
    if (k === 4) opt.setLr(opt.lr * 3);
    params.forEach((t, i) => t.grad = k === 1 && i === 3 ? null : p.grads[k][i]);
    opt.step();
  }
}

/** Parameters, state tensors and meta agree (1e-6 relative, 1e-6 absolute below 1). */
function assertSame(a: Opt, pa: Tensor[], b: Opt, pb: Tensor[]): void {
  pa.forEach((t, i) => assertClose(pb[i], t, 1e-6, 1e-6, `param ${i}`));
  const sa = a.stateDict();
  const sb = b.stateDict();
  assertEquals(Object.keys(sb.tensors).sort(), Object.keys(sa.tensors).sort());
  for (const [k, t] of Object.entries(sa.tensors)) assertClose(sb.tensors[k], t, 1e-6, 1e-6, k);
  assertEquals(sb.meta, sa.meta, "meta");
}

/** The state dict as a checkpoint carries it: the meta through JSON. */
function viaJson(opt: Opt) {
  const sd = opt.stateDict();
  return { tensors: sd.tensors, meta: JSON.parse(JSON.stringify(sd.meta)) };
}

for (const [kind, make] of KINDS) {
  Deno.test(`capturable ${kind} equals the plain one over ${STEPS} steps (2 groups, lr changed)`, () => {
    const p = problem(51, undefined, STEPS);
    const plainParams = freshParams(p);
    const captParams = freshParams(p);
    using plain = make(plainParams, false);
    using capt = make(captParams, true);
    assert(capt.capturable && !plain.capturable);
    steps(plain, plainParams, p, 0, STEPS);
    steps(capt, captParams, p, 0, STEPS);
    assertSame(plain, plainParams, capt, captParams);
    // The parameters moved: the comparison is not between two untouched sets.
    for (const ps of [plainParams, captParams]) {
      assert(maxRelError(ps[0], p.init[0]) > 1e-3, "parameter 0 moved");
    }
    if (kind.startsWith("AdamW")) assertEquals(capt.stateDict().meta.steps, [6, 6, 6, 5]);
  });

  Deno.test(`capturable ${kind}: state dicts load across modes, both ways`, () => {
    const p = problem(52, undefined, STEPS);
    for (const [from, to] of [[false, true], [true, false]]) {
      const pa = freshParams(p);
      using a = make(pa, from);
      steps(a, pa, p, 0, 3); // the lr was halved at step 2: it must come across
      const pb = pa.map((t) => t.detach().clone().requiresGrad_());
      using b = make(pb, to);
      b.loadStateDict(viaJson(a));
      assertEquals(b.lr, a.lr);
      assertSame(a, pa, b, pb);
      steps(a, pa, p, 3, STEPS);
      steps(b, pb, p, 3, STEPS);
      assertSame(a, pa, b, pb);
    }
  });
}

Deno.test("a capturable optimizer refuses a group lr edited directly (setLr writes the device)", () => {
  const p = problem(53, undefined, 2);
  const params = freshParams(p);
  using opt = new SGD(groups(params), { lr: 0.1, momentum: 0.9, capturable: true });
  params.forEach((t, i) => t.grad = p.grads[0][i]);
  opt.step();
  opt.paramGroups[1].lr = 0.3;
  assertThrows(() => opt.step(), TypeError, "group 1's lr was changed to 0.3 directly");
  opt.setLr(0.2);
  assertEquals(opt.paramGroups.map((g) => g.lr), [0.2, 0.1]);
  opt.step();
  // The plain optimizer takes the edit as before.
  using plain = new SGD(groups(freshParams(p)), { lr: 0.1 });
  plain.paramGroups[1].lr = 0.3;
  plain.step();
});

Deno.test("a capturable optimizer's device tensors are freed by dispose", () => {
  const p = problem(54, undefined, 1);
  const params = freshParams(p);
  const before = liveTensorCount();
  for (const capturable of [false, true]) {
    const opt = new AdamW(groups(params), { capturable });
    params.forEach((t, i) => t.grad = p.grads[0][i]);
    opt.step();
    opt.stateDict();
    opt.dispose();
    assertEquals(liveTensorCount(), before, `capturable ${capturable}`);
  }
});

Deno.test("capturable is checked like the other options", () => {
  const ps = freshParams(problem(55, undefined, 1));
  assertThrows(
    () => new AdamW(ps, { capturable: 1 as never }),
    TypeError,
    "optim.AdamW(params, options): options.capturable must be a boolean (true or false), got 1",
  );
  assertThrows(
    () => new SGD(ps, { lr: 0.1, capturable: "yes" as never }),
    TypeError,
    'optim.SGD(params, options): options.capturable must be a boolean (true or false), got "yes"',
  );
});

Deno.test("capturable AdamW at lr 0 (a warm-up's first step) with a zero gradient stays finite and equals the plain one", () => {
  // torch's capturable formula divides by the step size (lr / bias
  // correction): at lr 0 a zero second moment gives 0 / 0. Ours does not.
  const p = problem(52, undefined, 3);
  const plainParams = freshParams(p);
  const captParams = freshParams(p);
  using plain = new AdamW(groups(plainParams), { lr: 0.01, capturable: false });
  using capt = new AdamW(groups(captParams), { lr: 0.01, capturable: true });
  for (const [opt, params] of [[plain, plainParams], [capt, captParams]] as const) {
    for (let k = 0; k < 3; k++) {
      opt.setLr(k === 0 ? 0 : 0.01);
      params.forEach((t, i) => t.grad = i === 1 ? p.grads[k][i].mul(0) : p.grads[k][i]);
      opt.step();
    }
  }
  captParams.forEach((t) => assert(t.isfinite().all().item(), "finite parameters"));
  assertSame(plain, plainParams, capt, captParams);
});
