// SyncBatchNorm equals BatchNorm over the concatenated batch: two Deno ranks,
// each with its slice of one float64 batch (even and uneven), against
// BatchNorm1d/2d over the whole batch in this process. Forward outputs, input
// gradients, weight and bias gradients (summed over the ranks, as DDP's
// all-reduce would) and running statistics agree within 1e-10. In a world of
// one (or without a group) SyncBatchNorm is BatchNorm bit for bit;
// convertSyncBatchNorm keeps every tensor, name and mode.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { hasGloo } from "../../ffi/distributed.ts";
import { TorchError } from "../../ffi/error.ts";
import { manualSeed, noGrad } from "../../ffi/runtime.ts";
import { randn } from "../../ffi/creation.ts";
import * as dist from "../../src/distributed/mod.ts";
import * as nn from "../../src/nn/mod.ts";
import { BatchNorm1d, BatchNorm2d } from "../../src/nn/layers.ts";
import { type BnResult, CASES, makeBn, runBn } from "./_syncbn_cases.ts";
import { freePort, Rank } from "./_ranks.ts";

const ignore = !hasGloo();

/** |a - b| <= tol * max(1, |b|) element by element. */
function assertClose(actual: number[], expected: number[], tol: number, what: string): void {
  assertEquals(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  assert(
    worst <= tol,
    `${what}: relative error ${worst} at ${at} (${actual[at]} vs ${expected[at]}) > ${tol}`,
  );
}

Deno.test({
  name: "SyncBatchNorm on 2 ranks equals BatchNorm over the whole batch (float64, even and uneven)",
  ignore,
  fn: async () => {
    const port = freePort();
    const ranks = [0, 1].map((r) => new Rank("deno", "syncbn", r, 2, port, 20_000, 90_000));
    try {
      await Promise.all(ranks.map((r) => r.waitFor("done", 80_000)));
      for (const c of CASES) {
        const n = c.shape[0];
        const ref = runBn(c, makeBn(c, false), 0, n);
        const got = ranks.map((r) => r.results.get(c.name)!.value as BnResult);
        const tol = 1e-10;
        for (let k = 0; k < 2; k++) {
          assertClose(got.flatMap((g) => g.y[k]), ref.y[k], tol, `${c.name} y (step ${k})`);
          assertClose(
            got.flatMap((g) => g.xGrad[k]),
            ref.xGrad[k],
            tol,
            `${c.name} input grad (step ${k})`,
          );
        }
        const sum = (f: (g: BnResult) => number[]) => f(got[0]).map((v, i) => v + f(got[1])[i]);
        assertClose(sum((g) => g.weightGrad), ref.weightGrad, tol, `${c.name} weight grad`);
        assertClose(sum((g) => g.biasGrad), ref.biasGrad, tol, `${c.name} bias grad`);
        for (const [r, g] of got.entries()) {
          assertClose(g.runningMean, ref.runningMean, tol, `${c.name} running_mean, rank ${r}`);
          assertClose(g.runningVar, ref.runningVar, tol, `${c.name} running_var, rank ${r}`);
          assertEquals(g.numBatchesTracked, 2, `${c.name} num_batches_tracked, rank ${r}`);
        }
        assertClose(got.flatMap((g) => g.yEval), ref.yEval, tol, `${c.name} eval output`);
      }
      for (const r of ranks) assertEquals((await r.close()).code, 0, r.stderr);
    } finally {
      for (const r of ranks) r.kill();
      await Promise.all(ranks.map((r) => r.close()));
    }
  },
});

function sameBytes(a: BnResult, b: BnResult): void {
  assertEquals(a, b);
}

Deno.test({
  name: "SyncBatchNorm without a group and in a world of one is BatchNorm bit for bit",
  ignore,
  fn: () => {
    const c = CASES[1];
    const n = c.shape[0];
    const ref = runBn(c, makeBn(c, false), 0, n);
    sameBytes(runBn(c, makeBn(c, true), 0, n), ref);
    dist.initProcessGroup({
      backend: "gloo",
      initMethod: `tcp://127.0.0.1:${freePort()}`,
      rank: 0,
      worldSize: 1,
      timeoutMs: 10_000,
    });
    try {
      sameBytes(runBn(c, makeBn(c, true), 0, n), ref);
      // The autograd all-reduce itself, in a world of one: the identity, gradient included.
      const x = randn([3], { dtype: "float64" }).requiresGrad_(true);
      const y = dist.allReduceWithGrad(x);
      assertEquals(
        Array.from(y.toTypedArray() as Float64Array),
        Array.from(x.toTypedArray() as Float64Array),
      );
      y.mul(3).sum().backward();
      assertEquals(Array.from(x.grad!.toTypedArray() as Float64Array), [3, 3, 3]);
    } finally {
      dist.destroyProcessGroup();
    }
  },
});

Deno.test("allReduceWithGrad without a group says to initialise one", () => {
  assertThrows(
    () => dist.allReduceWithGrad(randn([2])),
    TorchError,
    "Default process group has not been initialized",
  );
});

Deno.test("SyncBatchNorm refuses a 1-D input and names the shapes", () => {
  const bn = new nn.SyncBatchNorm(3);
  assertThrows(() => bn.forward(randn([3])), RangeError, "(N, C) or (N, C, ...)");
});

Deno.test("convertSyncBatchNorm keeps every tensor, name, option and mode; state dict unchanged", () => {
  manualSeed(3);
  const net = nn.resnet18({ stem: "cifar" });
  const head = nn.mlp(512, 16, 32);
  for (const m of [net, head]) {
    // Distinct values everywhere, so a copied or re-initialised tensor would show.
    noGrad(() => {
      for (const [, t] of Object.entries(m.stateDict())) {
        if (t.dtype === "float32") {
          using r = randn(t.shape);
          t.add_(r);
        }
      }
    });
  }
  // The eval output before the conversion.
  using x = randn([2, 3, 8, 8]);
  net.eval();
  using y0 = noGrad(() => net.forward(x));
  net.train();
  net.layers[1].eval(); // a mix of modes
  for (const m of [net, head]) {
    const before = Object.entries(m.stateDict());
    const values = noGrad(() => before.map(([, t]) => t.clone()));
    const modes = m.namedModules().map(([k, mm]) => [k, mm.training]);
    const bns = m.namedModules().filter(([, mm]) =>
      mm instanceof BatchNorm1d || mm instanceof BatchNorm2d
    );
    const opts = bns.map(([, b]) => {
      const bn = b as BatchNorm2d;
      return [bn.numFeatures, bn.eps, bn.momentum];
    });
    assert(bns.length > 0);
    const returned = nn.convertSyncBatchNorm(m);
    assert(returned === m, "returns the module");
    const after = Object.entries(m.stateDict());
    assertEquals(after.map(([k]) => k), before.map(([k]) => k), "state dict names");
    after.forEach(([k, t], i) => {
      assert(t === before[i][1], `${k} is the very same tensor`);
      using same = t.eq(values[i]);
      using all = same.all();
      assert(all.item() === 1, `${k} values`);
    });
    assertEquals(m.namedModules().map(([k, mm]) => [k, mm.training]), modes, "train/eval modes");
    for (const [i, [k, b]] of bns.entries()) {
      assert(b instanceof nn.SyncBatchNorm, `${k} is a SyncBatchNorm`);
      const s = b as nn.SyncBatchNorm;
      assertEquals([s.numFeatures, s.eps, s.momentum], opts[i], `${k} options`);
    }
    assert(
      !m.namedModules().some(([, mm]) => mm instanceof BatchNorm1d || mm instanceof BatchNorm2d),
      "no BatchNorm left",
    );
  }
  // The parents' own references (ResNet's bn1, a block's bn2) are the converted objects.
  assert(net.bn1 instanceof nn.SyncBatchNorm);
  assert(head.layers[1] instanceof nn.SyncBatchNorm);
  // Without a group the converted network computes what it did before.
  net.eval();
  using y = noGrad(() => net.forward(x));
  assertEquals(
    Array.from(y.toTypedArray() as Float32Array),
    Array.from(y0.toTypedArray() as Float32Array),
  );
});
