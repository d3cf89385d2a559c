// What the public API's argument checks (ffi/args.ts) cost on hot paths:
// 100k `a.add(b)` and `a.add(1)` on 4-element tensors (call overhead only), a
// chain of small-tensor view/reduction calls, and a tiny training step
// (Linear, BatchNorm1d, ReLU, Linear, loss, backward, SGD). Median of `--reps`
// rounds after a warm-up round, each round in one tidy; then the checks alone
// (what Tensor.add, Tensor.sum and F.conv2d check per call, 1M times). The
// same file runs on a tree without ffi/args.ts (the last part is skipped
// there), for before/after figures.
//   deno run --allow-all bench/arg_checks.ts [--reps 7]
import { F, manualSeed, nn, ones, optim, randn, setNumThreads, tidy } from "../mod.ts";
import { median } from "./lib.ts";

const reps = Number(Deno.args[Deno.args.indexOf("--reps") + 1] ?? 7) || 7;
setNumThreads(1);
manualSeed(0);

function rounds(name: string, n: number, fn: () => void): void {
  const all: number[] = [];
  for (let r = 0; r <= reps; r++) {
    const t0 = performance.now();
    tidy(fn);
    if (r > 0) all.push(performance.now() - t0);
  }
  const ms = median(all);
  console.log(
    `${name.padEnd(34)} median ${ms.toFixed(1).padStart(7)} ms  ` +
      `${(ms * 1e6 / n).toFixed(0).padStart(6)} ns/call  ` +
      `(min ${Math.min(...all).toFixed(1)}, max ${Math.max(...all).toFixed(1)})`,
  );
}

const a = ones([4]).keep();
const b = ones([4]).keep();
const N = 100_000;

rounds("a.add(b) x100k", N, () => {
  for (let i = 0; i < N; i++) a.add(b).dispose();
});
rounds("a.add(1) x100k", N, () => {
  for (let i = 0; i < N; i++) a.add(1).dispose();
});
const m = ones([2, 3, 4]).keep();
rounds("view+sum+narrow x20k", 3 * 20_000, () => {
  for (let i = 0; i < 20_000; i++) {
    m.view([6, 4]).dispose();
    m.sum({ dim: 1, keepdim: true }).dispose();
    m.narrow(2, 1, 2).dispose();
  }
});

const model = new nn.Sequential(
  new nn.Linear(16, 32),
  new nn.BatchNorm1d(32),
  new nn.ReLU(),
  new nn.Linear(32, 8),
);
const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
const x = randn([8, 16]).keep();
const y = randn([8, 8]).keep();
const STEPS = 2000;
rounds("tiny train step x2000", STEPS, () => {
  for (let i = 0; i < STEPS; i++) {
    tidy(() => {
      const out = model.forward(x);
      const loss = F.normalize(out, { dim: 1 }).sub(y).square().mean();
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
  }
});

// The checks alone, where ffi/args.ts exists.
const A = await import("../ffi/args.ts").catch(() => null);
if (A !== null) {
  const M = 1_000_000;
  const opts = { dim: 1, keepdim: true };
  const conv = { stride: 2, padding: 1 };
  rounds("checks of add(b, 1) x1M", M, () => {
    for (let i = 0; i < M; i++) {
      A.tensorOrNum("Tensor.add(other, alpha)", "other", b);
      A.num("Tensor.add(other, alpha)", "alpha", 1);
    }
  });
  rounds("checks of sum({dim, keepdim}) x1M", M, () => {
    for (let i = 0; i < M; i++) A.reduceArgs("Tensor.sum(dim, options)", opts, undefined);
  });
  rounds("checks of F.conv2d x1M", M, () => {
    const sig = "F.conv2d(input, weight, bias, options)";
    for (let i = 0; i < M; i++) {
      A.tensor(sig, "input", a);
      A.tensor(sig, "weight", b);
      A.optTensor(sig, "bias", null);
      A.options(sig, conv, ["stride", "padding", "dilation", "groups"]);
      A.optPair(sig, "options.stride", conv.stride);
      A.optPair(sig, "options.padding", conv.padding);
      A.optPair(sig, "options.dilation", undefined);
      A.optInt(sig, "options.groups", undefined);
    }
  });
}
