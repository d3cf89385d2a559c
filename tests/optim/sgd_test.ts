// SGD equals torch.optim.SGD step for step: parameters and momentum buffers.
import { SGD } from "../../src/optim/mod.ts";
import { compare, freshParams, problem, run, torchRun } from "./_fixture.ts";

const CASES: Array<[string, ConstructorParameters<typeof SGD>[1], string]> = [
  ["plain", { lr: 0.1 }, "lr=0.1"],
  ["momentum", { lr: 0.05, momentum: 0.9 }, "lr=0.05, momentum=0.9"],
  [
    "nesterov + weight decay",
    { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-2 },
    "lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2",
  ],
  [
    "dampening + weight decay",
    { lr: 0.02, momentum: 0.8, dampening: 0.3, weightDecay: 5e-3 },
    "lr=0.02, momentum=0.8, dampening=0.3, weight_decay=5e-3",
  ],
];

for (const [name, opts, py] of CASES) {
  Deno.test(`SGD (${name}) equals torch.optim.SGD over 5 steps`, async () => {
    const p = problem(11);
    const params = freshParams(p);
    using opt = new SGD(params, opts);
    run(opt, params, p);
    const ref = await torchRun(
      p,
      `
      opt = torch.optim.SGD(ps, ${py})
      for k in range(steps):
          feed(k)
          opt.step()
      for i, q in enumerate(ps):
          out[f'p{i}'] = q
          b = opt.state[q].get('momentum_buffer')
          out[f'buf{i}'] = b if b is not None else torch.zeros_like(q)
      `,
    );
    compare(params, opt, ref, opts.momentum ? { momentum_buffer: "buf" } : {});
  });
}

Deno.test("SGD parameter groups with their own lr and weight decay equal torch's", async () => {
  const p = problem(12);
  const params = freshParams(p);
  using opt = new SGD(
    [
      { params: params.slice(0, 2) },
      { params: params.slice(2), lr: 0.3, weightDecay: 0, dampening: 0.1 },
    ],
    { lr: 0.05, momentum: 0.9, weightDecay: 1e-2 },
  );
  run(opt, params, p);
  const ref = await torchRun(
    p,
    `
    opt = torch.optim.SGD([{'params': ps[:2]}, {'params': ps[2:], 'lr': 0.3, 'weight_decay': 0,
                           'dampening': 0.1}], lr=0.05, momentum=0.9, weight_decay=1e-2)
    for k in range(steps):
        feed(k)
        opt.step()
    for i, q in enumerate(ps):
        out[f'p{i}'] = q
        out[f'buf{i}'] = opt.state[q]['momentum_buffer']
    `,
  );
  compare(params, opt, ref, { momentum_buffer: "buf" });
});
