// DistributedDataParallel: 2 ranks equal 1 process at the same global batch.
// Two Deno ranks, each building a differently-seeded BYOL (ResNet-18 with the
// CIFAR stem, channels-last, float64, SyncBatchNorm: rank 0 through the BYOL
// option, rank 1 by converting after construction), each taking its half of
// the same global views, five LARS steps with DDP averaging the gradients;
// against one process over the whole batch with plain BatchNorm
// (tests/distributed/_ddp_cases.ts, which says why float64).
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { hasGloo } from "../../ffi/distributed.ts";
import { TorchError } from "../../ffi/error.ts";
import * as dist from "../../src/distributed/mod.ts";
import { loadStateDictFile } from "../../src/io/tensors.ts";
import { Linear } from "../../src/nn/layers.ts";
import { buildModel, INIT_SEED, modelState, stateHash, STEPS, train } from "./_ddp_cases.ts";
import { freePort, Rank } from "./_ranks.ts";

const ignore = !hasGloo();

Deno.test({
  name:
    "DDP: 2 ranks x half batch equal 1 process (BYOL, ResNet-18, SyncBN, 5 LARS steps, float64)",
  ignore,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "ddp_test_" });
    const port = freePort();
    const ranks = [0, 1].map((r) =>
      new Rank("deno", "ddp", r, 2, port, 30_000, 180_000, { DDP_OUT: out })
    );
    try {
      // The reference runs here while the ranks run.
      const ref = buildModel(INIT_SEED, "none");
      const refHash = await stateHash(ref.byol);
      const refLosses = train(ref.byol, ref.opt, 0, 1, null);
      await Promise.all(ranks.map((r) => r.waitFor("done", 170_000)));

      // Construction: differently-initialised ranks end up with rank 0's model.
      const before = ranks.map((r) => r.results.get("hash_before")!.value);
      const after = ranks.map((r) => r.results.get("hash_after")!.value);
      assert(before[0] !== before[1], "the ranks start different");
      assertEquals(before[0], refHash, "rank 0's model is the reference's");
      assertEquals(after, [refHash, refHash], "after DDP every rank holds rank 0's model");

      // Every bucket's all-reduce was launched by backward itself, at every step.
      for (const r of ranks) {
        const launched = r.results.get("launched")!.value as [number, number][];
        assertEquals(launched.length, STEPS);
        for (const [early, count] of launched) {
          assert(count >= 3, `${count} buckets (ResNet-18 in float64: about 90 MB)`);
          assertEquals(early, count, "buckets launched during backward");
        }
      }

      // The global loss (the mean of the two halves' means) is the reference's.
      const [l0, l1] = ranks.map((r) => r.results.get("losses")!.value as number[]);
      assertEquals(l0.length, STEPS);
      for (let s = 0; s < STEPS; s++) {
        const global = (l0[s] + l1[s]) / 2;
        const err = Math.abs(global - refLosses[s]) / Math.abs(refLosses[s]);
        assert(err < 1e-10, `step ${s}: loss ${global} vs ${refLosses[s]} (relative ${err})`);
      }

      const [s0, s1] = await Promise.all(
        [0, 1].map((r) => loadStateDictFile(`${out}/rank${r}.safetensors`)),
      );
      const want = modelState(ref.byol);
      assertEquals(Object.keys(s0).sort(), Object.keys(want).sort(), "the saved names");
      let worst = 0;
      let worstKey = "";
      for (const [k, w] of Object.entries(want)) {
        // Both ranks hold the same model, bit for bit.
        using same = s0[k].eq(s1[k]);
        using all = same.all();
        assert(all.item() === 1, `${k}: rank 0 and rank 1 differ`);
        if (w.dtype === "int64") {
          assertEquals(s0[k].item(), w.item(), k);
          continue;
        }
        // Relative to the tensor's scale: max |a - b| / max |b|.
        using d = s0[k].sub(w);
        using ad = d.abs();
        using md = ad.max();
        using aw = w.abs();
        using mw = aw.max();
        const rel = md.item() / Math.max(mw.item(), 1e-12);
        if (rel > worst) [worst, worstKey] = [rel, k];
      }
      console.log(`worst relative difference ${worst.toExponential(2)} (${worstKey})`);
      // Float64 (see _ddp_cases.ts): the issue's bound is 1e-4; rounding leaves ~1e-14.
      assert(worst <= 1e-8, `${worstKey}: relative difference ${worst} > 1e-8`);
      for (const r of ranks) assertEquals((await r.close()).code, 0, r.stderr);
      ref.byol.dispose();
    } finally {
      for (const r of ranks) r.kill();
      await Promise.all(ranks.map((r) => r.close()));
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "DDP: a parameter without a gradient on one rank fails syncGradients on every rank, named",
  ignore,
  fn: async () => {
    const port = freePort();
    const ranks = [0, 1].map((r) => new Rank("deno", "ddp_unused", r, 2, port, 10_000));
    try {
      const [u0, u1] = (await Promise.all(ranks.map((r) => r.waitFor("unused", 30_000)))).map(
        (o) => o.value as { ok: boolean; name: string; message: string },
      );
      for (const u of [u0, u1]) {
        assert(!u.ok, "syncGradients failed");
        assertEquals(u.name, "TorchError");
        assert(u.message.includes("parameters without a gradient"), u.message);
      }
      assert(u0.message.includes("2 on this rank: weight, bias; rank 0 of 2"), u0.message);
      assert(u1.message.includes("none on this rank, so another rank; rank 1 of 2"), u1.message);
      for (const r of ranks) assertEquals((await r.close()).code, 0, r.stderr);
    } finally {
      for (const r of ranks) r.kill();
      await Promise.all(ranks.map((r) => r.close()));
    }
  },
});

/** input(r, k, 6) of rank.ts as 2 rows of 3. */
function rows(r: number, k: number): number[][] {
  const v = Array.from({ length: 6 }, (_, i) => ((i * 0.731 + r * 1.37 + k * 0.113) % 3) - 1.5);
  return [v.slice(0, 3), v.slice(3)];
}

/**
 * The exact gradients of sum(Linear(3, 2)(x)) summed over passes `ks`, averaged
 * over ranks 0 and 1: [weight (2x3, row-major), bias]; every output row of the
 * weight gets the column sums of x, the bias the row count.
 */
function expectedGrads(ks: number[]): number[][] {
  const col = [0, 0, 0];
  for (const r of [0, 1]) {
    for (const k of ks) for (const row of rows(r, k)) row.forEach((x, j) => col[j] += x / 2);
  }
  return [[...col, ...col], [2 * ks.length, 2 * ks.length]];
}

function assertClose(got: number[][], want: number[][], what: string): void {
  assertEquals(got.length, want.length, what);
  got.forEach((g, i) =>
    g.forEach((x, j) =>
      assert(Math.abs(x - want[i][j]) < 1e-5, `${what}: [${i}][${j}] ${x} vs ${want[i][j]}`)
    )
  );
}

Deno.test({
  name:
    "DDP: backward launches the buckets; noSync accumulates; a second backward fails on every rank",
  ignore,
  fn: async () => {
    const port = freePort();
    const ranks = [0, 1].map((r) => new Rank("deno", "ddp_overlap", r, 2, port, 10_000));
    try {
      const outs = await Promise.all(ranks.map((r) => r.waitFor("off", 60_000)));
      for (const [r, rank] of ranks.entries()) {
        const v = (k: string) => rank.results.get(k)!.value as Record<string, unknown>;
        const one = v("one");
        assertEquals([one.buckets, one.early], [2, 2], `rank ${r}: both buckets from backward`);
        assertClose(one.grads as number[][], expectedGrads([0]), `rank ${r}, one pass`);
        const ns = v("nosync");
        assertEquals(ns.early, 2, `rank ${r}: the pass after noSync launches`);
        assertClose(ns.grads as number[][], expectedGrads([1, 2]), `rank ${r}, noSync`);
        const tw = v("twice");
        assert(
          String(tw.message).startsWith("TorchError: DistributedDataParallel.syncGradients") &&
            /parameter (weight|bias)'s gradient was made twice/.test(String(tw.message)) &&
            String(tw.message).includes("noSync()"),
          `rank ${r}: ${tw.message}`,
        );
        assertClose(tw.after as number[][], expectedGrads([5]), `rank ${r}, after the failure`);
        const off = outs[r].value as Record<string, unknown>;
        assertEquals(off.early, 0, `rank ${r}: overlap off`);
        assertClose(off.grads as number[][], expectedGrads([0]), `rank ${r}, overlap off`);
      }
      for (const r of ranks) assertEquals((await r.close()).code, 0, r.stderr);
    } finally {
      for (const r of ranks) r.kill();
      await Promise.all(ranks.map((r) => r.close()));
    }
  },
});

Deno.test({
  name: "DDP: without a group, PyTorch's message; a bad bucket size is named",
  ignore,
  fn: () => {
    const m = new Linear(3, 2);
    assertThrows(
      () => new dist.DistributedDataParallel(m),
      TorchError,
      "Default process group has not been initialized",
    );
    dist.initProcessGroup({
      backend: "gloo",
      initMethod: `tcp://127.0.0.1:${freePort()}`,
      rank: 0,
      worldSize: 1,
      timeoutMs: 10_000,
    });
    try {
      assertThrows(
        () => new dist.DistributedDataParallel(m, { bucketBytes: 0 }),
        RangeError,
        "bucketBytes",
      );
      // A parameter without a gradient is named.
      const ddp = new dist.DistributedDataParallel(m);
      assertThrows(() => ddp.syncGradients(), TorchError, "weight, bias");
      ddp.dispose();
    } finally {
      dist.destroyProcessGroup();
    }
  },
});
