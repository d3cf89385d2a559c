// Shared set-up for the optimizer tests: a few parameters of mixed rank, a
// fixed gradient per parameter and step, and the PyTorch side that replays the
// same gradients through torch.optim (or a formula) and returns params + state.
import { manualSeed, randn, type Tensor } from "../../mod.ts";
import type { OptimizerStateDict } from "../../src/optim/mod.ts";
import { reference } from "../helpers/reference.ts";
import { assertClose } from "../helpers/assert.ts";

/** Shapes with a matrix, a conv weight, a bias-like vector and a scalar-ish one. */
export const SHAPES = [[6, 4], [3, 2, 3, 3], [6], [1]];
export const STEPS = 5;

/** What the helpers need of an optimizer. */
export interface Steppable {
  step(): void;
  stateDict(): OptimizerStateDict;
}

export interface Problem {
  /** The initial values (never stepped). */
  init: Tensor[];
  /** grads[k][i]: the gradient of parameter i at step k. */
  grads: Tensor[][];
}

export function problem(seed = 7, shapes = SHAPES, steps = STEPS): Problem {
  manualSeed(seed);
  const init = shapes.map((s) => randn(s));
  const grads = Array.from({ length: steps }, () => shapes.map((s) => randn(s).mul(0.5)));
  return { init, grads };
}

/** Fresh leaf copies of the initial values. */
export function freshParams(p: Problem): Tensor[] {
  return p.init.map((t) => t.clone().requiresGrad_());
}

/** Steps `opt` over `params` with the problem's gradients from step `from` to `to`. */
export function run(opt: Steppable, params: Tensor[], p: Problem, from = 0, to = STEPS): void {
  for (let k = from; k < to; k++) {
    params.forEach((t, i) => t.grad = p.grads[k][i]);
    opt.step();
  }
}

/** The problem as named reference inputs: p{i} and g{k}_{i}. */
export function inputs(p: Problem): Record<string, Tensor> {
  const inp: Record<string, Tensor> = {};
  p.init.forEach((t, i) => inp[`p${i}`] = t);
  p.grads.forEach((gs, k) => gs.forEach((g, i) => inp[`g${k}_${i}`] = g));
  return inp;
}

/**
 * Python prelude: `ps` (leaf params), `steps`, `n`, and `feed(k)` which sets
 * every p.grad to the step-k gradient.
 */
export const PY_SETUP = `
n = len([k for k in inp if k.startswith('p')])
steps = len([k for k in inp if k.startswith('g') and k.endswith('_0')])
ps = [inp[f'p{i}'].clone().requires_grad_() for i in range(n)]
def feed(k):
    for i, p in enumerate(ps):
        p.grad = inp[f'g{k}_{i}'].clone()
`;

/** Runs the `parts` (each dedented on its own; they must fill out[...]) after PY_SETUP. */
export function torchRun(p: Problem, ...parts: string[]): Promise<Record<string, Tensor>> {
  return reference(PY_SETUP + parts.map(dedent).join(""), inputs(p));
}

/** Compares params and named state tensors with the reference (`p{i}`, `<state>{i}`). */
export function compare(
  params: Tensor[],
  opt: Steppable,
  ref: Record<string, Tensor>,
  state: Record<string, string>,
  tol = 1e-6,
): void {
  const sd = opt.stateDict().tensors;
  params.forEach((t, i) => {
    assertClose(t, ref[`p${i}`], tol, 1e-6, `param ${i}`);
    for (const [ours, theirs] of Object.entries(state)) {
      assertClose(sd[`${i}.${ours}`], ref[`${theirs}${i}`], tol, 1e-6, `${ours} of param ${i}`);
    }
  });
}

function dedent(s: string): string {
  const lines = s.split("\n");
  const indents = lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length);
  const n = indents.length ? Math.min(...indents) : 0;
  return "\n" + lines.map((l) => l.slice(n)).join("\n") + "\n";
}
