// The public API checks what it is given (ffi/args.ts): a wrong argument fails
// with one line naming the function, the argument, what it must be and what it
// got, never with an FFI TypeError from inside a lib.tt_* call; and creation
// functions take PyTorch's argument positions (`arange(6, { dtype })`,
// `zeros(2, 3)`), compared here with PyTorch's own values.
import { assert, assertEquals, AssertionError } from "../helpers/asserts.ts";
import { pythonJson } from "../helpers/python.ts";
import * as mod from "../../mod.ts";
import * as creation from "../../ffi/creation.ts";
import * as functional from "../../ffi/functional.ts";
import {
  arange,
  cat,
  empty,
  F,
  full,
  Generator,
  keep,
  manualSeed,
  nn,
  noGrad,
  ones,
  optim,
  rand,
  randint,
  randn,
  randperm,
  setNumThreads,
  stack,
  Tensor,
  tensor,
  tidy,
  TorchError,
  zeros,
  zerosLike,
} from "../../mod.ts";

type ErrorClass = new (...args: never[]) => Error;

/** Runs `fn`, which must throw a `cls` whose message starts with `start` (and is one line). */
function expectError(fn: () => unknown, cls: ErrorClass, start: string): Error {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new AssertionError(`expected ${start}... to be thrown`);
  if (!(err instanceof cls)) {
    throw new AssertionError(`expected a ${cls.name} starting "${start}", got ${err}`);
  }
  const msg = (err as Error).message;
  if (!msg.startsWith(start)) {
    throw new AssertionError(`message\n  ${msg}\ndoes not start with\n  ${start}`);
  }
  if (msg.includes("\n")) throw new AssertionError(`message is not one line: ${msg}`);
  if (/FFI/.test(msg)) throw new AssertionError(`an FFI message reached the user: ${msg}`);
  return err as Error;
}

const a = ones([2, 3]).keep();
const w = randn([4, 3, 3, 3]).keep();
const x4 = randn([1, 3, 8, 8]).keep();
const gone = ones([2, 3]);
gone.dispose();
const params = [randn([3]).keep()];

// [call, error class, the message's first words]
const WRONG: [string, () => unknown, ErrorClass, string][] = [
  // creation
  [
    'arange("6")',
    () => arange("6" as never),
    TypeError,
    'arange(start, end, step, options): end must be a number, got "6"',
  ],
  [
    'arange(0, 6, "1")',
    () => arange(0, 6, "1" as never),
    TypeError,
    'arange(start, end, step, options): step must be a number, got "1"',
  ],
  [
    "arange(0, Infinity)",
    () => arange(0, Infinity),
    RangeError,
    "arange(start, end, step, options): end must be a finite number, got Infinity",
  ],
  [
    'arange(6, { dtype: "float" })',
    () => arange(6, { dtype: "float" as never }),
    TypeError,
    "arange(start, end, step, options): options.dtype must be a dtype name (uint8,",
  ],
  [
    "arange(6, { requires_grad: true })",
    () => arange(6, { requires_grad: true } as never),
    TypeError,
    'arange(start, end, step, options): options has an unknown key "requires_grad" ' +
    '(did you mean "requiresGrad"?); the known keys are dtype, device, requiresGrad',
  ],
  [
    "zeros([2, NaN])",
    () => zeros([2, NaN]),
    TypeError,
    "zeros(...size, options): size[1] must be a non-negative integer, got NaN",
  ],
  [
    "zeros(2, -3)",
    () => zeros(2, -3),
    RangeError,
    "zeros(...size, options): size[1] must be a non-negative integer, got -3",
  ],
  [
    'zeros("2")',
    () => zeros("2" as never),
    TypeError,
    'zeros(...size, options): size must be integers or one array of non-negative integers, got "2"',
  ],
  [
    "zeros()",
    () => (zeros as () => Tensor)(),
    TypeError,
    "zeros(...size, options): size is missing",
  ],
  [
    "ones([2], { dtyp: ... })",
    () => ones([2], { dtyp: "float32" } as never),
    TypeError,
    'ones(...size, options): options has an unknown key "dtyp" (did you mean "dtype"?)',
  ],
  [
    'randn(2, { device: "gpu" })',
    () => randn(2, { device: "gpu" }),
    TypeError,
    'randn(...size, options): options.device must be "cpu", "cuda" or "cuda:N", got "gpu"',
  ],
  [
    "empty([2], { requiresGrad: 1 })",
    () => empty([2], { requiresGrad: 1 as never }),
    TypeError,
    "empty(...size, options): options.requiresGrad must be a boolean (true or false), got 1",
  ],
  [
    'full([2], "1")',
    () => full([2], "1" as never),
    TypeError,
    'full(size, fillValue, options): fillValue must be a number, got "1"',
  ],
  [
    "full(2, 1)",
    () => full(2 as never, 1),
    TypeError,
    "full(size, fillValue, options): size must be an array of sizes (non-negative integers), got 2",
  ],
  [
    "randint(0, 10.5, [3])",
    () => randint(0, 10.5, [3]),
    TypeError,
    "randint(low, high, size, options): high must be an integer, got 10.5",
  ],
  [
    "randperm(-1)",
    () => randperm(-1),
    RangeError,
    "randperm(n, options): n must be a non-negative integer, got -1",
  ],
  [
    'tensor([1, "2"])',
    () => tensor([1, "2"] as never),
    TypeError,
    'tensor(data, options): data[1] must be a number, a boolean or a bigint, got "2"',
  ],
  [
    'tensor([1], { dtype: "float33" })',
    () => tensor([1], { dtype: "float33" as never }),
    TypeError,
    "tensor(data, options): options.dtype must be a dtype name",
  ],
  [
    "tensor(new Uint32Array(2))",
    () => tensor(new Uint32Array(2) as never),
    TypeError,
    "tensor(data, options): data must be a typed array of a tensor dtype",
  ],
  [
    "cat([a, 1])",
    () => cat([a, 1 as never]),
    TypeError,
    "cat(tensors, dim): tensors[1] must be a Tensor, got 1",
  ],
  [
    "cat([a, disposed])",
    () => cat([a, gone]),
    TorchError,
    "cat(tensors, dim): tensors[1] was disposed and cannot be used",
  ],
  [
    'stack([a, a], "1")',
    () => stack([a, a], "1" as never),
    TypeError,
    'stack(tensors, dim): dim must be an integer, got "1"',
  ],
  [
    "zerosLike(a, { dtype: 1 })",
    () => zerosLike(a, { dtype: 1 as never }),
    TypeError,
    "zerosLike(input, options): options.dtype must be a dtype name",
  ],
  // Tensor methods
  [
    'a.add("1")',
    () => a.add("1" as never),
    TypeError,
    'Tensor.add(other, alpha): other must be a Tensor or a number, got "1"',
  ],
  [
    "a.add(disposed)",
    () => a.add(gone),
    TorchError,
    "Tensor.add(other, alpha): other was disposed and cannot be used",
  ],
  [
    "a.mul(null)",
    () => a.mul(null as never),
    TypeError,
    "Tensor.mul(other): other must be a Tensor or a number, got null",
  ],
  [
    'a.view(3, "2")',
    () => a.view(3, "2" as never),
    TypeError,
    'Tensor.view(...shape): shape[1] must be an integer, got "2"',
  ],
  [
    "a.sum({ dim: 0, keepdims: true })",
    () => a.sum({ dim: 0, keepdims: true } as never),
    TypeError,
    'Tensor.sum(dim, options): options has an unknown key "keepdims" (did you mean "keepdim"?)',
  ],
  [
    "a.mean({ axis: 0 })",
    () => a.mean({ axis: 0 } as never),
    TypeError,
    'Tensor.mean(dim, options): options has an unknown key "axis" (did you mean "dim"?)',
  ],
  [
    "a.sum(0.5)",
    () => a.sum(0.5),
    TypeError,
    "Tensor.sum(dim, options): dim must be an integer or an array of integers, got 0.5",
  ],
  [
    "a.narrow(0, 0, 1.5)",
    () => a.narrow(0, 0, 1.5),
    TypeError,
    "Tensor.narrow(dim, start, length): length must be a non-negative integer, got 1.5",
  ],
  [
    "a.transpose(0, NaN)",
    () => a.transpose(0, NaN),
    TypeError,
    "Tensor.transpose(dim0, dim1): dim1 must be an integer, got NaN",
  ],
  [
    'a.to("float")',
    () => a.to("float" as never),
    TypeError,
    'Tensor.to(options): options must be a device ("cpu", "cuda", "cuda:N"), a dtype name',
  ],
  [
    'a.to({ dtype: "int65" })',
    () => a.to({ dtype: "int65" as never }),
    TypeError,
    "Tensor.to(options): options.dtype must be a dtype name",
  ],
  [
    'a.requiresGrad_("yes")',
    () => a.requiresGrad_("yes" as never),
    TypeError,
    'Tensor.requiresGrad_(requiresGrad): requiresGrad must be a boolean (true or false), got "yes"',
  ],
  [
    "a.split(0)",
    () => a.split(0),
    RangeError,
    "Tensor.split(splitSize, dim): splitSize must be a positive integer, got 0",
  ],
  [
    "a.clamp()",
    () => a.clamp(undefined),
    TypeError,
    "Tensor.clamp(min, max): min or max must be given, got neither",
  ],
  [
    "a.indexSelect(0, [0])",
    () => a.indexSelect(0, [0] as never),
    TypeError,
    "Tensor.indexSelect(dim, index): index must be a Tensor, got [0]",
  ],
  [
    "a.grad = 1",
    () => (a.grad = 1 as never),
    TypeError,
    "Tensor.grad = value: value must be a Tensor or null, got 1",
  ],
  // F
  [
    'F.conv2d(x, w, null, { stride: "2" })',
    () => F.conv2d(x4, w, null, { stride: "2" as never }),
    TypeError,
    'F.conv2d(input, weight, bias, options): options.stride must be an integer or a pair [h, w] of integers, got "2"',
  ],
  [
    "F.conv2d(x, w, null, { padding_mode })",
    () => F.conv2d(x4, w, null, { padding_mode: "zeros" } as never),
    TypeError,
    'F.conv2d(input, weight, bias, options): options has an unknown key "padding_mode"',
  ],
  [
    'F.interpolate(x, 4, { mode: "linear" })',
    () => F.interpolate(x4, 4, { mode: "linear" as never }),
    TypeError,
    'F.interpolate(input, size, options): options.mode must be one of "nearest", "bilinear", "bicubic", "area", got "linear"',
  ],
  [
    'F.crossEntropy(a, t, { reduction: "avg" })',
    () => F.crossEntropy(a, a, { reduction: "avg" as never }),
    TypeError,
    'F.crossEntropy(input, target, options): options.reduction must be one of "none", "mean", "sum", got "avg"',
  ],
  [
    'F.linear("x", w)',
    () => F.linear("x" as never, w),
    TypeError,
    'F.linear(input, weight, bias): input must be a Tensor, got "x"',
  ],
  [
    "F.maxPool2d(x, [2])",
    () => F.maxPool2d(x4, [2] as never),
    TypeError,
    "F.maxPool2d(input, kernelSize, options): kernelSize must be an integer or a pair",
  ],
  // nn
  [
    'new nn.Linear(4, "8")',
    () => new nn.Linear(4, "8" as never),
    TypeError,
    'nn.Linear(inFeatures, outFeatures, options): outFeatures must be a non-negative integer, got "8"',
  ],
  [
    "new nn.Conv2d(3, 8, 3, { stride: 1.5 })",
    () => new nn.Conv2d(3, 8, 3, { stride: 1.5 }),
    TypeError,
    "nn.Conv2d(inChannels, outChannels, kernelSize, options): options.stride must be an integer or a pair",
  ],
  [
    'new nn.BatchNorm2d(8, { eps: "1e-5" })',
    () => new nn.BatchNorm2d(8, { eps: "1e-5" as never }),
    TypeError,
    'nn.BatchNorm2d(numFeatures, options): options.eps must be a number, got "1e-5"',
  ],
  [
    "new nn.Sequential(new nn.ReLU(), F.relu)",
    () => new nn.Sequential(new nn.ReLU(), F.relu as never),
    TypeError,
    "nn.Sequential(...modules): modules[1] must be a Module, got a function (relu)",
  ],
  [
    'nn.resnet18({ stem: "tiny" })',
    () => nn.resnet18({ stem: "tiny" as never }),
    TypeError,
    'resnet18(options): options.stem must be one of "imagenet", "cifar", got "tiny"',
  ],
  // optim
  [
    'new optim.SGD(params, { lr: "0.1" })',
    () => new optim.SGD(params, { lr: "0.1" as never }),
    TypeError,
    'optim.SGD(params, options): options.lr must be a number, got "0.1"',
  ],
  [
    "new optim.SGD(params, { lr: 0.1, weight_decay: 1e-4 })",
    () => new optim.SGD(params, { lr: 0.1, weight_decay: 1e-4 } as never),
    TypeError,
    'optim.SGD(params, options): options has an unknown key "weight_decay" (did you mean "weightDecay"?)',
  ],
  [
    "new optim.SGD(params)",
    () => new optim.SGD(params, undefined as never),
    TypeError,
    "optim.SGD(params, options): options.lr must be given",
  ],
  [
    "new optim.AdamW(params, { lr: -1 })",
    () => new optim.AdamW(params, { lr: -1 }),
    RangeError,
    "optim.AdamW(params, options): options.lr must be a finite number >= 0, got -1",
  ],
  [
    "new optim.LARS([1], { lr: 0.1 })",
    () => new optim.LARS([1] as never, { lr: 0.1 }),
    TypeError,
    "optim.LARS(params, options): params[0] must be a Tensor, got 1",
  ],
  [
    "new optim.SGD([disposed], { lr: 0.1 })",
    () => new optim.SGD([gone], { lr: 0.1 }),
    TorchError,
    "optim.SGD(params, options): params[0] was disposed",
  ],
  // BYOL, modules, augmentation
  [
    "new BYOL(encoder, { hidden_dim: 16 })",
    () => new mod.BYOL(new nn.Linear(2, 2) as never, { hidden_dim: 16 } as never),
    TypeError,
    'BYOL(encoder, options): options has an unknown key "hidden_dim" (did you mean "hiddenDim"?)',
  ],
  [
    'module.to("gpu")',
    () => new nn.Linear(2, 2).to("gpu"),
    TypeError,
    'Module.to(device, dtype): device must be "cpu", "cuda" or "cuda:N", got "gpu"',
  ],
  [
    "augment.twoViews(batch, 5)",
    () => mod.augment.makeAugment("cifar").twoViews(a, 5 as never),
    TypeError,
    "Augment.twoViews(batch, gen, slice): gen must be a Generator, got 5",
  ],
  // runtime
  [
    "new Generator(1.5)",
    () => new Generator(1.5),
    TypeError,
    "Generator(seed, options): seed must be a non-negative safe integer or a bigint, got 1.5",
  ],
  [
    'manualSeed("1")',
    () => manualSeed("1" as never),
    TypeError,
    'manualSeed(seed): seed must be an integer (a safe integer or a bigint), got "1"',
  ],
  [
    "setNumThreads(0)",
    () => setNumThreads(0),
    RangeError,
    "setNumThreads(n): n must be a positive integer, got 0",
  ],
  ["noGrad(5)", () => noGrad(5 as never), TypeError, "noGrad(fn): fn must be a function, got 5"],
  ['tidy("x")', () => tidy("x" as never), TypeError, 'tidy(fn): fn must be a function, got "x"'],
  ["keep({})", () => keep({} as never), TypeError, "keep(tensor): tensor must be a Tensor, got {}"],
];

Deno.test("each wrong argument fails with one line naming the function and the argument", () => {
  for (const [label, fn, cls, start] of WRONG) {
    try {
      expectError(fn, cls, start);
    } catch (e) {
      throw new AssertionError(`${label}: ${(e as Error).message}`);
    }
  }
});

/**
 * Asserts that the message blames the call's first argument: the first
 * parameter of the signature it starts with, or the options object (an object
 * given first is taken as options where a function accepts them there), or an
 * alias (arange's lone argument is `end`, as in PyTorch).
 */
function assertBlamesFirst(msg: string, aliases: string[] = []): void {
  const m = /^[\w.]+\(([^)]*)\): ([\w]+)/.exec(msg);
  assert(m !== null, `no "name(params): argument" at the start of: ${msg}`);
  const first = m[1].split(", ")[0].replace("...", "");
  const ok = [first, "options", ...aliases];
  assert(ok.includes(m[2]), `blames ${m[2]}, not the first argument (${ok}): ${msg}`);
}

/** The names mod.ts exports from a module (its functions only). */
function exportedFunctions(module: Record<string, unknown>): string[] {
  const m = mod as unknown as Record<string, unknown>;
  return Object.keys(module).filter((k) => typeof module[k] === "function" && m[k] === module[k]);
}

Deno.test("every creation function mod.ts exports checks its first argument", () => {
  const names = exportedFunctions(creation as unknown as Record<string, unknown>);
  // The enumeration finds them (a renamed module would otherwise pass vacuously).
  for (const n of ["tensor", "zeros", "ones", "full", "arange", "randint", "cat", "where"]) {
    assert(names.includes(n), `${n} is not among the enumerated ${names}`);
  }
  const m = mod as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of names) {
    for (const wrong of [{ bogus: 1 }, "6", Symbol("s")]) {
      try {
        const e = expectError(() => m[name](wrong), TypeError, `${name}(`);
        assertBlamesFirst(e.message, name === "arange" ? ["end"] : []);
      } catch (e) {
        throw new AssertionError(`${name}(${String(wrong)}): ${(e as Error).message}`);
      }
    }
  }
});

Deno.test("every F function checks its first argument", () => {
  const fns = functional as unknown as Record<string, (...args: unknown[]) => unknown>;
  const names = Object.keys(fns).filter((k) => typeof fns[k] === "function");
  assert(names.length >= 15, `only ${names.length} F functions found`);
  for (const name of names) {
    const e = expectError(() => fns[name]({ bogus: 1 }), TypeError, `F.${name}(`);
    assertBlamesFirst(e.message);
  }
});

/** The parameter list of a method's source, empty for methods that take no arguments. */
function paramsOf(fn: (...args: unknown[]) => unknown): string {
  const src = fn.toString();
  const open = src.indexOf("(");
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if ("([{".includes(src[i])) depth++;
    else if (")]}".includes(src[i]) && --depth === 0) return src.slice(open + 1, i).trim();
  }
  throw new Error(`cannot parse ${src.slice(0, 80)}`);
}

Deno.test("every Tensor method that takes arguments checks its first one", () => {
  const proto = Tensor.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const checked: string[] = [];
  for (const name of Object.getOwnPropertyNames(Tensor.prototype)) {
    const d = Object.getOwnPropertyDescriptor(Tensor.prototype, name)!;
    if (name === "constructor" || typeof d.value !== "function") continue;
    if (paramsOf(d.value) === "") continue;
    const t = ones([2, 3]);
    try {
      const e = expectError(() => proto[name].call(t, { bogus: 1 }), TypeError, `Tensor.${name}(`);
      assertBlamesFirst(e.message);
    } catch (e) {
      throw new AssertionError(`Tensor.${name}({ bogus: 1 }): ${(e as Error).message}`);
    } finally {
      t.dispose();
    }
    checked.push(name);
  }
  for (const n of ["add", "view", "sum", "to", "narrow", "topk", "backward", "copy_"]) {
    assert(checked.includes(n), `Tensor.${n} was not enumerated (${checked})`);
  }
});

Deno.test("creation functions take PyTorch's positions and equal PyTorch's values", async () => {
  type Out = { dtype: string; shape: number[]; values: unknown };
  const out = (t: Tensor): Out => ({ dtype: t.dtype, shape: t.shape, values: t.toArray() });
  const pyOut = "def out(t): return {'dtype': str(t.dtype).replace('torch.', ''), " +
    "'shape': list(t.shape), 'values': t.tolist()}";
  const ours: Record<string, Out> = tidy(() => {
    const x = tensor([[3, 1, 2], [0.5, -1, 4]]);
    const r: Record<string, Out> = {
      arange_end_dtype: out(arange(6, { dtype: "float32" })),
      arange_start_end: out(arange(2, 7)),
      arange_step: out(arange(1, 7, 2)),
      arange_float: out(arange(0.5, 3)),
      arange_step_dtype: out(arange(1, 2.5, 0.5, { dtype: "float64" })),
      arange_start_end_dtype: out(arange(-2, 2, { dtype: "int32" })),
      zeros_2_3: out(zeros(2, 3)),
      zeros_list: out(zeros([2, 3])),
      ones_int64: out(ones(2, 3, { dtype: "int64" })),
      full: out(full([2, 2], 7, { dtype: "int64" })),
      empty_shape: { ...out(empty(2, 3)), values: null },
      zeros_like_f64: out(zerosLike(x, { dtype: "float64" })),
      sum_dim: out(x.sum(1)),
      sum_dim_keepdim: out(x.sum(1, true)),
      mean_dims: out(x.mean([0, 1])),
      std_unbiased_false: out(x.std(1, false)),
      max_dim: out(x.max(1)),
      argmax_dim: out(x.argmax(1)),
      norm_p: out(x.norm(1)),
      norm_p_dim: out(x.norm(2, 1)),
      clamp_min_max: out(x.clamp(0, 2)),
      clamp_max_only: out(x.clamp(undefined, 2)),
      sort_desc: out(x.sort(1, true).values),
      topk_dim: out(x.topk(1, 0).values),
      cat_dim: out(cat([x, x], { dim: 1 })),
      size: { dtype: "", shape: [], values: x.size() },
    };
    manualSeed(0);
    r.randint_high = out(randint(10, [5]));
    r.randn_2_3 = out(randn(2, 3));
    r.rand_list = out(rand([3]));
    r.randperm_f32 = out(randperm(5, { dtype: "float32" }));
    return r;
  });
  const theirs = await pythonJson<Record<string, Out>>(`
import json, torch
${pyOut}
x = torch.tensor([[3, 1, 2], [0.5, -1, 4]])
r = {
  'arange_end_dtype': out(torch.arange(6, dtype=torch.float32)),
  'arange_start_end': out(torch.arange(2, 7)),
  'arange_step': out(torch.arange(1, 7, 2)),
  'arange_float': out(torch.arange(0.5, 3)),
  'arange_step_dtype': out(torch.arange(1, 2.5, 0.5, dtype=torch.float64)),
  'arange_start_end_dtype': out(torch.arange(-2, 2, dtype=torch.int32)),
  'zeros_2_3': out(torch.zeros(2, 3)),
  'zeros_list': out(torch.zeros([2, 3])),
  'ones_int64': out(torch.ones(2, 3, dtype=torch.int64)),
  'full': out(torch.full([2, 2], 7, dtype=torch.int64)),
  'empty_shape': {**out(torch.empty(2, 3)), 'values': None},
  'zeros_like_f64': out(torch.zeros_like(x, dtype=torch.float64)),
  'sum_dim': out(x.sum(1)),
  'sum_dim_keepdim': out(x.sum(1, True)),
  'mean_dims': out(x.mean([0, 1])),
  'std_unbiased_false': out(x.std(1, False)),
  'max_dim': out(x.max(1).values),
  'argmax_dim': out(x.argmax(1)),
  'norm_p': out(x.norm(1)),
  'norm_p_dim': out(x.norm(2, 1)),
  'clamp_min_max': out(x.clamp(0, 2)),
  'clamp_max_only': out(x.clamp(None, 2)),
  'sort_desc': out(x.sort(1, True).values),
  'topk_dim': out(x.topk(1, 0).values),
  'cat_dim': out(torch.cat([x, x], dim=1)),
  'size': {'dtype': '', 'shape': [], 'values': list(x.size())},
}
torch.manual_seed(0)
r['randint_high'] = out(torch.randint(10, (5,)))
r['randn_2_3'] = out(torch.randn(2, 3))
r['rand_list'] = out(torch.rand([3]))
r['randperm_f32'] = out(torch.randperm(5, dtype=torch.float32))
print(json.dumps(r))
`);
  assertEquals(Object.keys(ours).sort(), Object.keys(theirs).sort());
  for (const k of Object.keys(theirs)) {
    const [o, t] = [ours[k], theirs[k]];
    assertEquals(o.dtype, t.dtype, `${k}: dtype`);
    assertEquals(o.shape, t.shape, `${k}: shape`);
    const close = (u: unknown, v: unknown): boolean =>
      Array.isArray(u)
        ? Array.isArray(v) && u.length === v.length && u.every((e, i) => close(e, v[i]))
        : typeof u === "number" && typeof v === "number"
        ? Math.abs(u - v) <= 1e-6 * Math.max(1, Math.abs(v))
        : u === v;
    assert(
      close(o.values, t.values),
      `${k}: ${JSON.stringify(o.values)} != ${JSON.stringify(t.values)}`,
    );
  }
});

Deno.test("the old forms still work: arrays, options objects, arange's undefined end", () => {
  tidy(() => {
    assertEquals(zeros([2, 3], undefined).shape, [2, 3]);
    assertEquals(ones([2], { dtype: "int64" }).toArray(), [1, 1]);
    assertEquals(arange(3, undefined, 1, { dtype: "float32" }).toArray(), [0, 1, 2]);
    assertEquals(randint(0, 5, [4], { dtype: "int32" }).dtype, "int32");
    const x = tensor([[1, 2], [3, 4]]);
    assertEquals(x.sum({ dim: 1, keepdim: true }).toArray(), [[3], [7]]);
    assertEquals(x.sum().item(), 10);
    assertEquals(x.clamp({ min: 2 }).toArray(), [[2, 2], [3, 4]]);
    assertEquals(x.topk(1, { dim: 1 }).values.toArray(), [[2], [4]]);
    assertEquals(x.argmax({ dim: 0 }).toArray(), [1, 1]);
    assertEquals(x.norm({ dim: 1 }).shape, [2]);
    assertEquals(cat([x, x], 1).shape, [2, 4]);
    assertEquals(x.size(-1), 2);
  });
});
