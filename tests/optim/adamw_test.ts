// AdamW equals torch.optim.AdamW (1.13) step for step: parameters and moments.
import { AdamW } from "../../src/optim/mod.ts";
import { assertEquals } from "../helpers/asserts.ts";
import { compare, freshParams, problem, run, torchRun } from "./_fixture.ts";

const STATE = { exp_avg: "m", exp_avg_sq: "v" };
const PY_OUT = `
for i, q in enumerate(ps):
    out[f'p{i}'] = q
    out[f'm{i}'] = opt.state[q]['exp_avg']
    out[f'v{i}'] = opt.state[q]['exp_avg_sq']
`;

Deno.test("AdamW equals torch.optim.AdamW over 5 steps", async () => {
  const p = problem(21);
  const params = freshParams(p);
  using opt = new AdamW(params, { lr: 0.01, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.05 });
  run(opt, params, p);
  const ref = await torchRun(
    p,
    `
    opt = torch.optim.AdamW(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)
    for k in range(steps):
        feed(k)
        opt.step()
    `,
    PY_OUT,
  );
  compare(params, opt, ref, STATE);
  assertEquals(opt.stateDict().meta.steps, [5, 5, 5, 5]);
});

Deno.test("AdamW defaults and parameter groups equal torch's", async () => {
  const p = problem(22);
  const params = freshParams(p);
  using opt = new AdamW([
    { params: params.slice(0, 3), lr: 3e-3 },
    { params: params.slice(3), weightDecay: 0, beta1: 0.5 },
  ]);
  run(opt, params, p);
  const ref = await torchRun(
    p,
    `
    opt = torch.optim.AdamW([{'params': ps[:3], 'lr': 3e-3},
                             {'params': ps[3:], 'weight_decay': 0, 'betas': (0.5, 0.999)}])
    for k in range(steps):
        feed(k)
        opt.step()
    `,
    PY_OUT,
  );
  compare(params, opt, ref, STATE);
});

Deno.test("AdamW skips parameters without a gradient, as torch does", async () => {
  const p = problem(23);
  const params = freshParams(p);
  using opt = new AdamW(params, { lr: 0.01 });
  for (let k = 0; k < 5; k++) {
    // Parameter 1 gets a gradient only on even steps.
    params.forEach((t, i) => t.grad = i === 1 && k % 2 === 1 ? null : p.grads[k][i]);
    opt.step();
  }
  const ref = await torchRun(
    p,
    `
    opt = torch.optim.AdamW(ps, lr=0.01)
    for k in range(steps):
        feed(k)
        if k % 2 == 1: ps[1].grad = None
        opt.step()
    `,
    PY_OUT,
  );
  compare(params, opt, ref, STATE);
  assertEquals(opt.stateDict().meta.steps, [5, 3, 5, 5]);
});
