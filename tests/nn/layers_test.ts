// Each layer's forward and backward equal PyTorch's on the same weights and
// inputs; Module bookkeeping (names, modes, loadStateDict errors).
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { TensorList } from "../../ffi/lists.ts";
import {
  liveTensorCount,
  manualSeed,
  nn,
  noGrad,
  optim,
  randn,
  setNumThreads,
  type Tensor,
  tensor,
  tidy,
} from "../../mod.ts";
import { reference } from "../helpers/reference.ts";
import { assertNormClose } from "../helpers/assert.ts";

setNumThreads(navigator.hardwareConcurrency || 2);

interface Case {
  make: () => nn.Module;
  input: number[];
  torch: string; // Python expression building the same module
  /**
   * Biases whose gradient is zero by construction (a bias feeding a
   * training-mode BatchNorm, which removes the batch mean), mapped to the
   * submodule they belong to: their computed gradient is rounding noise, so it
   * is checked against float32 rounding of its own sum, not against PyTorch's noise.
   */
  zeroGrad?: Record<string, string>;
}

const CASES: Record<string, Case> = {
  linear: { make: () => new nn.Linear(5, 3), input: [4, 5], torch: "nn.Linear(5, 3)" },
  linear_nobias: {
    make: () => new nn.Linear(5, 3, { bias: false }),
    input: [4, 5],
    torch: "nn.Linear(5, 3, bias=False)",
  },
  conv: {
    make: () => new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1 }),
    input: [2, 3, 7, 7],
    torch: "nn.Conv2d(3, 4, 3, stride=2, padding=1)",
  },
  conv_groups: {
    make: () => new nn.Conv2d(4, 6, [3, 1], { groups: 2, dilation: 2, bias: false }),
    input: [2, 4, 9, 5],
    torch: "nn.Conv2d(4, 6, (3, 1), groups=2, dilation=2, bias=False)",
  },
  bn1d: { make: () => new nn.BatchNorm1d(5), input: [6, 5], torch: "nn.BatchNorm1d(5)" },
  bn2d: {
    make: () => new nn.BatchNorm2d(3, { momentum: 0.3, eps: 1e-3 }),
    input: [4, 3, 5, 5],
    torch: "nn.BatchNorm2d(3, momentum=0.3, eps=1e-3)",
  },
  maxpool: {
    make: () => new nn.MaxPool2d(3, { stride: 2, padding: 1 }),
    input: [2, 3, 8, 8],
    torch: "nn.MaxPool2d(3, 2, 1)",
  },
  avgpool: {
    make: () => new nn.AdaptiveAvgPool2d(1),
    input: [2, 3, 5, 5],
    torch: "nn.AdaptiveAvgPool2d(1)",
  },
  flatten: { make: () => new nn.Flatten(), input: [2, 3, 2, 2], torch: "nn.Flatten()" },
  relu: { make: () => new nn.ReLU(), input: [3, 4], torch: "nn.ReLU()" },
  identity: { make: () => new nn.Identity(), input: [3, 4], torch: "nn.Identity()" },
  mlp: {
    make: () => nn.mlp(6, 4, 16),
    input: [5, 6],
    torch: "nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 4))",
    zeroGrad: { "0.bias": "0" },
  },
};

const F32_EPS = 2 ** -23;

/**
 * A bias gradient that is zero by construction: db_j = sum_n t_nj where the
 * terms t = dL/dh (the output gradient of its layer) sum to exactly zero. In
 * float32 each |db_j| stays within (N + 2) eps sum_n |t_nj| (recursive
 * summation over N terms, plus the terms' own rounding); checks ours and the
 * reference's against that bound, per component.
 */
function assertRoundingNoise(grad: Tensor, theirs: Tensor, terms: Tensor, what: string): void {
  const [n, f] = terms.shape;
  const t = terms.toTypedArray() as Float32Array;
  const ours = grad.toTypedArray() as Float32Array;
  const ref = theirs.toTypedArray() as Float32Array;
  assertEquals(ours.length, f, `${what}: one gradient per feature`);
  for (let j = 0; j < f; j++) {
    let abs = 0;
    for (let i = 0; i < n; i++) abs += Math.abs(t[i * f + j]);
    const bound = (n + 2) * F32_EPS * abs;
    assert(abs > 0, `${what}: the terms of component ${j} are all zero`);
    assert(
      Math.abs(ours[j]) <= bound && Math.abs(ref[j]) <= bound,
      `${what}[${j}]: ours ${ours[j]}, PyTorch ${ref[j]}, bound (N + 2) eps sum|dL/dh| = ${bound}`,
    );
  }
}

for (const [name, c] of Object.entries(CASES)) {
  Deno.test(`${name}: forward (train and eval), input and weight gradients, running stats equal PyTorch`, async () => {
    manualSeed(11);
    const m = c.make();
    // Non-trivial BN affine parameters, so their gradients are tested too.
    noGrad(() => {
      for (const [k, t] of m.namedParameters()) {
        if (k.endsWith("weight") && t.ndim === 1) t.copy_(randn(t.shape));
      }
    });
    const x = randn(c.input).requiresGrad_();
    const inputs: Record<string, Tensor> = { x: x.detach() };
    for (const [k, t] of Object.entries(m.stateDict())) inputs[`w.${k}`] = t.detach().clone();
    const y = m.train().forward(x);
    const loss = tidy(() => y.mul(y.sin()).sum());
    loss.backward();
    const yEval = tidy(() => m.eval().forward(x.detach()));
    const zero = c.zeroGrad ?? {};
    const ref = await reference(
      `
import torch.nn as nn
m = ${c.torch}
m.load_state_dict({k[2:]: v for k, v in inp.items() if k.startswith("w.")})
hs = {}
def keep(name):
    def hook(mod, i, o):
        if o.requires_grad:  # the training forward, not the eval one
            o.retain_grad()
            hs[name] = o
    return hook
mods = dict(m.named_modules())
for name in ${JSON.stringify([...new Set(Object.values(zero))])}:
    mods[name].register_forward_hook(keep(name))
x = inp["x"].clone().requires_grad_(True)
y = m.train()(x)
(y * y.sin()).sum().backward()
for name, h in hs.items(): out["dh." + name] = h.grad
out["y"] = y
out["x.grad"] = x.grad
for k, p in m.named_parameters(): out["grad." + k] = p.grad
for k, b in m.named_buffers(): out["buf." + k] = b
with torch.no_grad(): out["y_eval"] = m.eval()(inp["x"])
`,
      inputs,
    );
    assertNormClose(y, ref.y, 1e-5, "train forward");
    assertNormClose(yEval, ref.y_eval, 1e-5, "eval forward");
    assertNormClose(x.grad!, ref["x.grad"], 1e-5, "input gradient");
    for (const [k, t] of m.namedParameters()) {
      if (k in zero) {
        assertRoundingNoise(t.grad!, ref[`grad.${k}`], ref[`dh.${zero[k]}`], `grad of ${k}`);
      } else {
        assertNormClose(t.grad!, ref[`grad.${k}`], 1e-5, `grad of ${k}`);
      }
    }
    for (const [k, t] of m.namedBuffers()) {
      assertNormClose(
        t.to({ dtype: "float64" }),
        ref[`buf.${k}`].to({ dtype: "float64" }),
        1e-6,
        k,
      );
    }
  });
}

Deno.test("Linear and Conv2d default init is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as in PyTorch", () => {
  manualSeed(5);
  const lin = new nn.Linear(400, 300);
  const bound = 1 / Math.sqrt(400);
  const w = lin.weight;
  assert(w.max().item() <= bound && w.min().item() >= -bound);
  // Uniform(-b, b) has std b / sqrt(3).
  assert(Math.abs(w.std().item() / (bound / Math.sqrt(3)) - 1) < 0.01);
  const conv = new nn.Conv2d(16, 32, 3);
  const cb = 1 / Math.sqrt(16 * 9);
  assert(conv.weight.abs().max().item() <= cb && conv.weight.abs().max().item() > 0.95 * cb);
  assert(conv.bias!.abs().max().item() <= cb);
});

Deno.test("names, modes, parameter counts and loadStateDict errors name the key", () => {
  const m = nn.mlp(8, 4, 16);
  assertEquals(m.namedParameters().map(([k]) => k), [
    "0.weight",
    "0.bias",
    "1.weight",
    "1.bias",
    "3.weight",
    "3.bias",
  ]);
  assertEquals(Object.keys(m.stateDict()).filter((k) => k.startsWith("1.")), [
    "1.weight",
    "1.bias",
    "1.running_mean",
    "1.running_var",
    "1.num_batches_tracked",
  ]);
  assertEquals(m.numParameters(), 8 * 16 + 16 + 16 + 16 + 16 * 4 + 4);
  m.eval();
  assert(m.namedModules().every(([, c]) => !c.training));
  const sd = { ...m.stateDict() };
  const bad = { ...sd, "0.weight": randn([3, 3]) };
  assertThrows(
    () => m.loadStateDict(bad),
    nn.StateDictError,
    "0.weight: expected [16, 8], got [3, 3]",
  );
  const missing = { ...sd };
  delete missing["3.bias"];
  assertThrows(() => m.loadStateDict(missing), nn.StateDictError, "missing keys: 3.bias");
  assertThrows(
    () => m.loadStateDict({ ...sd, "extra.weight": randn([1]) }),
    nn.StateDictError,
    "unexpected keys: extra.weight",
  );
  const r = m.loadStateDict(missing, { strict: false });
  assertEquals(r.missing, ["3.bias"]);
});

Deno.test("loadStateDict copies values into the same tensors; an optimizer built before follows", () => {
  const a = new nn.Linear(3, 2);
  const b = new nn.Linear(3, 2);
  const w = a.weight;
  const opt = new optim.SGD(a.parameters(), { lr: 1 });
  a.loadStateDict(b.stateDict());
  assert(a.weight === w, "the parameter is the same object");
  assertEquals(a.weight.toArray(), b.weight.toArray());
  // d sum(x W^T + b) / dW[i][j] = sum_n x[n][j]: one SGD step with lr 1 from b's values.
  const x = [[1, 2, 3], [0.5, -1, 2]];
  tidy(() => a.forward(tensor(x)).sum().backward());
  opt.step();
  const col = [0, 1, 2].map((j) => x[0][j] + x[1][j]);
  const bw = b.weight.toArray() as number[][];
  assertNormClose(a.weight, tensor(bw.map((row) => row.map((v, j) => v - col[j]))), 1e-6);
  opt.dispose();
});

Deno.test("Module.to() keeps the tensor objects: a no-op move touches nothing, a real one swaps data in place", () => {
  manualSeed(12);
  const m = new nn.Sequential(new nn.Conv2d(2, 3, 3), new nn.BatchNorm2d(3), new nn.Linear(4, 2));
  const entries = Object.entries(m.stateDict());
  const objects = entries.map(([, t]) => t);
  const before = objects.map((t) => t.toArray());
  const list = new TensorList(objects);
  const live = liveTensorCount();
  m.to("cpu");
  m.to("cpu", "float32");
  assertEquals(list.sync("test"), 0, "no tensor was replaced or swapped");
  assertEquals(liveTensorCount(), live);
  entries.forEach(([k, t], i) => {
    assert(m.stateDict()[k] === t, `${k} is the same object`);
    assertEquals(t.toArray(), before[i], k);
  });

  m.to("cpu", "float64");
  const floating = entries.filter(([k]) => !k.endsWith("num_batches_tracked")).length;
  assertEquals(list.sync("test"), floating, "every floating tensor got new data");
  assertEquals(liveTensorCount(), live);
  entries.forEach(([k, t], i) => {
    assert(m.stateDict()[k] === t, `${k} is the same object`);
    assertEquals(t.dtype, k.endsWith("num_batches_tracked") ? "int64" : "float64", k);
    assertEquals(t.toArray(), before[i], `${k} keeps its values`);
  });
  for (const [k, p] of m.namedParameters()) assert(p.requiresGrad && p.isLeaf, `${k} is a leaf`);

  const w = m.stateDict()["0.weight"];
  m.channelsLast();
  assert(m.stateDict()["0.weight"] === w);
  assertEquals(w.memoryFormat, "channelsLast");
  assert(w.requiresGrad && w.isLeaf);
  assertEquals(w.toArray(), before[0]);
  assertEquals(list.sync("test"), 1, "only the 4-D weight was restrided");
  m.channelsLast();
  assertEquals(list.sync("test"), 0, "a second channelsLast() leaves it alone");
  m.dispose();
});
