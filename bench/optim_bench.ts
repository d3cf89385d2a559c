// Optimizer step time over BYOL-sized parameters: ResNet-18 without fc plus a
// 512-4096-256 MLP projector, ours (one fused FFI call per group) against
// torch.optim in PyTorch on the same libtorch with the same thread count.
//
//   deno run -A bench/optim_bench.ts [--threads N] [--runs R] [--iters I] [--rounds K]
//
// Each cell is the median over R runs of the mean time of I steps; the two
// sides alternate K times and the best round counts (a shared machine is
// noisy). Not a test.
import { parseArgs } from "node:util";
import { noGrad, randn, setNumThreads, type Tensor } from "../mod.ts";
import { AdamW, decayParamGroups, LARS, SGD } from "../src/optim/mod.ts";
import { python } from "../tests/helpers/python.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    threads: { type: "string", default: String(navigator.hardwareConcurrency || 2) },
    runs: { type: "string", default: "7" },
    iters: { type: "string", default: "5" },
    rounds: { type: "string", default: "2" },
  },
});
const threads = Number(values.threads);
const runs = Number(values.runs);
const iters = Number(values.iters);
const rounds = Number(values.rounds);

// The PyTorch side: the parameter shapes, then the timings of torch.optim (and
// of LARS written as a PyTorch user would, with the same device-side ratio).
const PY = `
import sys, json, time, statistics, torch, torchvision
threads, runs, iters = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)
net = torch.nn.ModuleDict({
    'encoder': torchvision.models.resnet18(),
    'projector': torch.nn.Sequential(torch.nn.Linear(512, 4096), torch.nn.BatchNorm1d(4096),
                                     torch.nn.ReLU(), torch.nn.Linear(4096, 256)),
})
del net['encoder'].fc
named = [(n, p) for n, p in net.named_parameters()]
for _, p in named:
    p.grad = torch.randn_like(p) * 0.01

def lars_step(params, bufs, excl, lr, mom, wd, eta):
    with torch.no_grad():
        for p, b, e in zip(params, bufs, excl):
            u = p.grad
            if not e:
                u = u.add(p, alpha=wd)
                pn, un = p.norm(), u.norm()
                one = torch.ones_like(pn)
                r = torch.where(pn > 0, torch.where(un > 0, pn * eta / un, one), one)
                u = u.mul_(r) if wd != 0 else u.mul(r)  # the shim's op sequence
            b.mul_(mom).add_(u)
            p.add_(b, alpha=-lr)

def timed(step):
    for _ in range(2): step()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(iters): step()
        ts.append((time.perf_counter() - t0) / iters * 1e3)
    return statistics.median(ts)

params = [p for _, p in named]
excl = [p.ndim <= 1 for p in params]
bufs = [torch.zeros_like(p) for p in params]
res = {}
res['LARS'] = timed(lambda: lars_step(params, bufs, excl, 0.2, 0.9, 1.5e-6, 1e-3))
for fe in (False, True):
    o = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-2, foreach=fe)
    res['AdamW' + (' foreach' if fe else '')] = timed(o.step)
    o = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4, foreach=fe)
    res['SGD' + (' foreach' if fe else '')] = timed(o.step)
print(json.dumps({'shapes': [[n, list(p.shape)] for n, p in named], 'ms': res,
                  'torch': torch.__version__}))
`;

type PyResult = { shapes: [string, number[]][]; ms: Record<string, number>; torch: string };
const torchRound = async () =>
  JSON.parse(await python(PY, [String(threads), String(runs), String(iters)])) as PyResult;
const py = await torchRound();

setNumThreads(threads);
const named: [string, Tensor][] = py.shapes.map(([n, s]) => [n, randn(s).requiresGrad_()]);
const params = named.map(([, p]) => p);
for (const p of params) p.grad = noGrad(() => randn(p.shape).mul(0.01));
const numel = params.reduce((n, p) => n + p.numel, 0);

function timed(step: () => void): number {
  for (let i = 0; i < 2; i++) step();
  const ts: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) step();
    ts.push((performance.now() - t0) / iters);
  }
  ts.sort((a, b) => a - b);
  return ts[ts.length >> 1];
}

function oursRound(): Record<string, number> {
  const ms: Record<string, number> = {};
  {
    using lars = new LARS(decayParamGroups(named), { lr: 0.2, weightDecay: 1.5e-6 });
    ms["LARS"] = timed(() => lars.step());
  }
  {
    using adamw = new AdamW(params, { lr: 1e-3, weightDecay: 1e-2 });
    ms["AdamW"] = timed(() => adamw.step());
  }
  {
    using sgd = new SGD(params, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
    ms["SGD"] = timed(() => sgd.step());
  }
  return ms;
}

const best = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.entries(a).map(([k, v]) => [k, Math.min(v, b[k] ?? v)]));
let ours = oursRound();
for (let r = 1; r < rounds; r++) {
  py.ms = best(py.ms, (await torchRound()).ms);
  ours = best(ours, oursRound());
}

console.log(
  `optimizer step, ${params.length} tensors, ${(numel / 1e6).toFixed(2)}M params, ` +
    `libtorch ${py.torch}, ${threads} threads, best of ${rounds} rounds of median of ${runs} x ${iters} steps\n`,
);
const rows = [["optimizer", "ours ms", "torch ms", "torch foreach ms", "ours / torch"]];
for (const k of ["LARS", "AdamW", "SGD"]) {
  const t = py.ms[k];
  const f = py.ms[`${k} foreach`];
  rows.push([
    k,
    ours[k].toFixed(2),
    t.toFixed(2),
    f === undefined ? "-" : f.toFixed(2),
    (ours[k] / t).toFixed(2),
  ]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows) console.log(r.map((x, c) => x.padStart(widths[c])).join("  "));
