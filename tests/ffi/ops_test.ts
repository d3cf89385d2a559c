// Every op of the shim against PyTorch (/usr/bin/python3) on the same inputs.
import { assert, assertEquals } from "../helpers/asserts.ts";
import {
  arange,
  cat,
  F,
  manualSeed,
  rand,
  randint,
  randn,
  stack,
  type Tensor,
  tensor,
  tidy,
  where,
} from "../../mod.ts";
import { reference } from "../helpers/reference.ts";
import { assertClose } from "../helpers/assert.ts";

manualSeed(0);
const inp: Record<string, Tensor> = {
  a: randn([3, 4]),
  b: randn([3, 4]),
  pos: rand([3, 4]).add(0.5),
  m: randn([4, 5]),
  v: randn([4]),
  idx: tensor([2, 0, 1], { dtype: "int64" }),
  gidx: randint(0, 4, [3, 2]),
  x4: randn([2, 3, 6, 6]),
  w4: randn([4, 3, 3, 3]),
  bw: randn([4]),
  theta: randn([2, 2, 3]).mul(0.3),
  labels: tensor([1, 0, 4], { dtype: "int64" }),
  logits: randn([3, 5]),
  bnm: randn([3]),
  bnv: rand([3]).add(0.5),
};

// Each entry: name -> [our value, PyTorch expression over `inp` as i].
const cases: Record<string, [() => Tensor, string]> = {
  add: [() => inp.a.add(inp.b), "a + b"],
  add_alpha: [() => inp.a.add(inp.b, 2.5), "torch.add(a, b, alpha=2.5)"],
  add_scalar: [() => inp.a.add(1.5), "a + 1.5"],
  sub: [() => inp.a.sub(inp.b), "a - b"],
  sub_bcast: [() => inp.a.sub(inp.v), "a - v"],
  mul: [() => inp.a.mul(inp.b), "a * b"],
  mul_scalar: [() => inp.a.mul(-3), "a * -3"],
  div: [() => inp.a.div(inp.pos), "a / pos"],
  rsub: [() => inp.a.rsub(1), "1 - a"],
  pow: [() => inp.pos.pow(inp.b), "pos ** b"],
  pow_scalar: [() => inp.pos.pow(2.5), "pos ** 2.5"],
  neg: [() => inp.a.neg(), "-a"],
  exp: [() => inp.a.exp(), "a.exp()"],
  log: [() => inp.pos.log(), "pos.log()"],
  sqrt: [() => inp.pos.sqrt(), "pos.sqrt()"],
  rsqrt: [() => inp.pos.rsqrt(), "pos.rsqrt()"],
  abs: [() => inp.a.abs(), "a.abs()"],
  relu: [() => inp.a.relu(), "a.relu()"],
  sigmoid: [() => inp.a.sigmoid(), "a.sigmoid()"],
  tanh: [() => inp.a.tanh(), "a.tanh()"],
  clamp: [() => inp.a.clamp({ min: -0.5, max: 0.5 }), "a.clamp(-0.5, 0.5)"],
  clamp_min: [() => inp.a.clamp({ min: 0.1 }), "a.clamp(min=0.1)"],
  matmul: [() => inp.a.matmul(inp.m), "a @ m"],
  matvec: [() => inp.a.matmul(inp.v), "a @ v"],
  sum_all: [() => inp.a.sum(), "a.sum()"],
  sum_dim: [() => inp.a.sum({ dim: 1, keepdim: true }), "a.sum(dim=1, keepdim=True)"],
  mean_dims: [() => inp.x4.mean({ dim: [2, 3] }), "x4.mean(dim=(2, 3))"],
  max_all: [() => inp.a.max(), "a.max()"],
  max_dim: [() => inp.a.max({ dim: 0 }), "a.max(dim=0).values"],
  min_dim: [() => inp.a.min({ dim: 1, keepdim: true }), "a.min(dim=1, keepdim=True).values"],
  argmax: [() => inp.a.argmax({ dim: 1 }), "a.argmax(dim=1)"],
  argmin_all: [() => inp.a.argmin(), "a.argmin()"],
  std: [() => inp.a.std({ dim: 1 }), "a.std(dim=1)"],
  std_biased: [() => inp.a.std({ unbiased: false }), "a.std(unbiased=False)"],
  var: [() => inp.a.var({ dim: 0 }), "a.var(dim=0)"],
  norm: [() => inp.a.norm(), "a.norm()"],
  norm_dim: [() => inp.a.norm({ dim: 1, keepdim: true }), "a.norm(dim=1, keepdim=True)"],
  norm_p1: [() => inp.a.norm({ p: 1, dim: 0 }), "a.norm(p=1, dim=0)"],
  normalize: [() => F.normalize(inp.a, { dim: 1 }), "F.normalize(a, dim=1)"],
  softmax: [() => inp.a.softmax(1), "a.softmax(1)"],
  log_softmax: [() => inp.a.logSoftmax(0), "a.log_softmax(0)"],
  logsumexp: [() => inp.a.logsumexp({ dim: 1 }), "a.logsumexp(1)"],
  eq: [() => inp.a.gt(0).eq(inp.b.gt(0)), "(a > 0) == (b > 0)"],
  gt: [() => inp.a.gt(inp.b), "a > b"],
  lt_scalar: [() => inp.a.lt(0.2), "a < 0.2"],
  where: [() => where(inp.a.gt(0), inp.a, inp.b), "torch.where(a > 0, a, b)"],
  reshape: [() => inp.a.reshape(2, 6), "a.reshape(2, 6)"],
  view: [() => inp.a.view([4, 3]), "a.view(4, 3)"],
  permute: [() => inp.x4.permute(0, 2, 3, 1).contiguous(), "x4.permute(0, 2, 3, 1).contiguous()"],
  transpose: [() => inp.a.transpose(0, 1).contiguous(), "a.t().contiguous()"],
  flatten: [() => inp.x4.flatten(1), "x4.flatten(1)"],
  squeeze: [() => inp.a.unsqueeze(1).squeeze(), "a.unsqueeze(1).squeeze()"],
  unsqueeze: [() => inp.a.unsqueeze(-1), "a.unsqueeze(-1)"],
  narrow: [() => inp.a.narrow(1, 1, 2).contiguous(), "a.narrow(1, 1, 2).contiguous()"],
  slice: [() => inp.a.slice(1, 0, 4, 2).contiguous(), "a[:, 0:4:2].contiguous()"],
  index_select: [() => inp.a.indexSelect(0, inp.idx), "a.index_select(0, idx)"],
  gather: [() => inp.a.gather(1, inp.gidx), "a.gather(1, gidx)"],
  cat: [() => cat([inp.a, inp.b], 1), "torch.cat([a, b], 1)"],
  stack: [() => stack([inp.a, inp.b], 0), "torch.stack([a, b], 0)"],
  chunk1: [() => inp.a.chunk(2, 1)[1], "a.chunk(2, 1)[1].contiguous()"],
  split: [() => inp.a.split([1, 3], 1)[1].contiguous(), "a.split([1, 3], 1)[1].contiguous()"],
  flip: [() => inp.x4.flip(3), "x4.flip(3)"],
  repeat: [() => inp.v.repeat(2, 1), "v.repeat(2, 1)"],
  expand: [() => inp.v.expand(3, 4).contiguous(), "v.expand(3, 4).contiguous()"],
  cumsum: [() => inp.a.cumsum(1), "a.cumsum(1)"],
  topk: [() => inp.a.topk(2, { dim: 1 }).values, "a.topk(2, dim=1).values"],
  topk_idx: [() => inp.a.topk(2, { dim: 1 }).indices, "a.topk(2, dim=1).indices"],
  one_hot: [() => inp.labels.oneHot(5), "F.one_hot(labels, 5)"],
  linear: [() => F.linear(inp.a, inp.m.T, inp.m.sum({ dim: 0 })), "F.linear(a, m.t(), m.sum(0))"],
  linear_nobias: [() => F.linear(inp.a, inp.m.T), "F.linear(a, m.t())"],
  conv2d: [
    () => F.conv2d(inp.x4, inp.w4, inp.bw, { padding: 1 }),
    "F.conv2d(x4, w4, bw, padding=1)",
  ],
  conv2d_s2: [() => F.conv2d(inp.x4, inp.w4, null, { stride: 2 }), "F.conv2d(x4, w4, stride=2)"],
  max_pool: [() => F.maxPool2d(inp.x4, 3, { stride: 2, padding: 1 }), "F.max_pool2d(x4, 3, 2, 1)"],
  avg_pool: [() => F.avgPool2d(inp.x4, 2), "F.avg_pool2d(x4, 2)"],
  adaptive_pool: [() => F.adaptiveAvgPool2d(inp.x4, 1), "F.adaptive_avg_pool2d(x4, 1)"],
  bn_eval: [
    () =>
      F.batchNorm(inp.x4, {
        runningMean: inp.bnm,
        runningVar: inp.bnv,
        weight: inp.bnv,
        bias: inp.bnm,
      }),
    "F.batch_norm(x4, bnm, bnv, bnv, bnm, training=False)",
  ],
  bn_train: [
    () => F.batchNorm(inp.x4, { training: true, eps: 1e-3 }),
    "F.batch_norm(x4, None, None, training=True, eps=1e-3)",
  ],
  cross_entropy: [() => F.crossEntropy(inp.logits, inp.labels), "F.cross_entropy(logits, labels)"],
  ce_none: [
    () => F.crossEntropy(inp.logits, inp.labels, { reduction: "none", labelSmoothing: 0.1 }),
    "F.cross_entropy(logits, labels, reduction='none', label_smoothing=0.1)",
  ],
  affine_grid: [
    () => F.affineGrid(inp.theta, [2, 3, 5, 7]),
    "F.affine_grid(theta, [2, 3, 5, 7], align_corners=False)",
  ],
  grid_sample: [
    () => F.gridSample(inp.x4, F.affineGrid(inp.theta, [2, 3, 5, 7])),
    "F.grid_sample(x4, F.affine_grid(theta, [2, 3, 5, 7], align_corners=False), align_corners=False)",
  ],
  grid_sample_reflect: [
    () =>
      F.gridSample(inp.x4, F.affineGrid(inp.theta, [2, 3, 4, 4]), {
        paddingMode: "reflection",
        mode: "nearest",
      }),
    "F.grid_sample(x4, F.affine_grid(theta, [2, 3, 4, 4], align_corners=False), mode='nearest', padding_mode='reflection', align_corners=False)",
  ],
  interp_bilinear: [
    () => F.interpolate(inp.x4, [9, 4], { mode: "bilinear" }),
    "F.interpolate(x4, size=(9, 4), mode='bilinear', align_corners=False)",
  ],
  interp_aa: [
    () => F.interpolate(inp.x4, 3, { mode: "bilinear", antialias: true }),
    "F.interpolate(x4, size=(3, 3), mode='bilinear', antialias=True, align_corners=False)",
  ],
  interp_nearest: [() => F.interpolate(inp.x4, 12), "F.interpolate(x4, size=(12, 12))"],
  pad_const: [
    () => F.pad(inp.x4, [1, 2, 0, 1], { value: 0.5 }),
    "F.pad(x4, [1, 2, 0, 1], value=0.5)",
  ],
  pad_reflect: [
    () => F.pad(inp.x4, [2, 2, 2, 2], { mode: "reflect" }),
    "F.pad(x4, [2, 2, 2, 2], mode='reflect')",
  ],
  arange: [() => arange(0, 10, 3), "torch.arange(0, 10, 3)"],
  arange_f: [() => arange(0, 1, 0.25), "torch.arange(0, 1, 0.25)"],
};

Deno.test("every op equals PyTorch on the same inputs", async () => {
  const ours: Record<string, Tensor> = {};
  for (const [name, [fn]] of Object.entries(cases)) ours[name] = tidy(fn);
  const code = [
    "i = inp",
    "globals().update(inp)",
    ...Object.entries(cases).map(([name, [, expr]]) => `out[${JSON.stringify(name)}] = ${expr}`),
  ].join("\n");
  const theirs = await reference(code, inp);
  for (const name of Object.keys(cases)) {
    const a = ours[name];
    const b = theirs[name];
    assert(b !== undefined, `${name}: missing from the reference`);
    assertEquals(a.shape, b.shape, `${name}: shape`);
    assertEquals(a.dtype, b.dtype, `${name}: dtype`);
    assertClose(a.to({ dtype: "float64" }), b.to({ dtype: "float64" }), 1e-5, 1e-5, name);
  }
});
