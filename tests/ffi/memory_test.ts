// Tensor lifetimes: tidy frees, keep survives, the registry frees what was forgotten.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import {
  finalizedTensorCount,
  keep,
  liveTensorCount,
  ones,
  randn,
  type Tensor,
  tidy,
  TorchError,
} from "../../mod.ts";
import { assignData } from "../../ffi/tensor.ts";

Deno.test("10,000 ops inside tidy leave liveTensorCount unchanged", () => {
  const a = randn([8, 8]);
  const before = liveTensorCount();
  tidy(() => {
    let x = a;
    for (let i = 0; i < 10_000; i++) x = i % 2 ? x.mul(0.5) : x.add(a).relu();
  });
  assertEquals(liveTensorCount(), before);
  a.dispose();
});

Deno.test("tidy keeps what it returns (also nested) and what keep() marks", () => {
  const before = liveTensorCount();
  let kept: Tensor | undefined;
  const { out, list } = tidy(() => {
    const inner = tidy(() => ones([2]).add(1)); // moves to the outer scope
    kept = keep(ones([1]));
    ones([5]); // freed
    return { out: inner.mul(2), list: [ones([3])] };
  });
  assertEquals(out.toArray(), [4, 4]);
  assertEquals(list[0].shape, [3]);
  assertEquals(liveTensorCount(), before + 3);
  out.dispose();
  list[0].dispose();
  kept!.dispose();
  assertEquals(liveTensorCount(), before);
});

Deno.test("tidy frees everything when its function throws, and refuses async functions", () => {
  const before = liveTensorCount();
  assertThrows(
    () =>
      tidy(() => {
        ones([2]);
        throw new Error("boom");
      }),
    Error,
    "boom",
  );
  assertEquals(liveTensorCount(), before);
  assertThrows(() => tidy(() => Promise.resolve(1)), TypeError, "synchronous");
});

Deno.test("a training-like loop keeps a flat live count", () => {
  const w = keep(randn([16, 16]).requiresGrad_());
  const counts: number[] = [];
  for (let step = 0; step < 50; step++) {
    tidy(() => {
      const loss = randn([4, 16]).matmul(w).relu().sum();
      loss.backward();
      w.grad = null;
    });
    counts.push(liveTensorCount());
  }
  assertEquals(counts[49], counts[9]);
  w.dispose();
});

Deno.test("the FinalizationRegistry frees forgotten tensors (run with --expose-gc)", async () => {
  // deno-lint-ignore no-explicit-any
  const gc = (globalThis as any).gc as (() => void) | undefined;
  if (gc === undefined) {
    console.warn("skipped: needs --v8-flags=--expose-gc (deno task test passes it)");
    return;
  }
  const before = liveTensorCount();
  const finalizedBefore = finalizedTensorCount();
  (() => {
    for (let i = 0; i < 100; i++) ones([4]);
    // Tensors that leave the last scope are covered too.
    for (let i = 0; i < 50; i++) tidy(() => ones([4]).add(1));
  })();
  assertEquals(liveTensorCount(), before + 150);
  for (let i = 0; i < 20 && liveTensorCount() > before; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  assertEquals(liveTensorCount(), before);
  assert(finalizedTensorCount() - finalizedBefore >= 150);
});

Deno.test("tidy returns tensors nested in arrays, Maps and objects, frees the rest; look-alikes are not tensors", () => {
  const before = liveTensorCount();
  const forged = { _handle: {}, _kept: false, handle: {} };
  const r = tidy(() => {
    ones([9]); // freed
    return {
      list: [ones([1]), [ones([2])]],
      map: new Map([["a", ones([3])]]),
      nested: { deep: { t: ones([4]) } },
      forged,
      proto: Object.create(ones([5])) as object, // not a Tensor: its prototype is one
    };
  });
  assertEquals(liveTensorCount(), before + 4);
  assertEquals((r.list[1] as Tensor[])[0].shape, [2]);
  assertEquals(r.map.get("a")!.shape, [3]);
  assertEquals(r.nested.deep.t.shape, [4]);
  assert(r.forged === forged);
  for (
    const t of [r.list[0] as Tensor, (r.list[1] as Tensor[])[0], r.map.get("a")!, r.nested.deep.t]
  ) {
    t.dispose();
  }
  assertEquals(liveTensorCount(), before);
});

Deno.test("assignData keeps counts right, and the registry frees the swapped-in handle", async () => {
  const before = liveTensorCount();
  const a = keep(ones([3])); // registered with the FinalizationRegistry
  tidy(() => {
    const b = ones([3]).mul(2).to("float64");
    assignData(a, b);
    assert(b.isDisposed && !a.isDisposed);
    assertThrows(() => b.toArray(), TorchError, "disposed");
  });
  assertEquals(liveTensorCount(), before + 1);
  assertEquals(a.toArray(), [2, 2, 2]);
  assertEquals(a.dtype, "float64", "the cached metadata was reset");
  a.dispose();
  assertEquals(liveTensorCount(), before);

  // deno-lint-ignore no-explicit-any
  const gc = (globalThis as any).gc as (() => void) | undefined;
  if (gc === undefined) return;
  const finalizedBefore = finalizedTensorCount();
  (() => {
    const c = keep(ones([2]));
    assignData(c, ones([4])); // c's registration must now free the new handle
  })();
  assertEquals(liveTensorCount(), before + 1);
  for (let i = 0; i < 20 && liveTensorCount() > before; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  assertEquals(liveTensorCount(), before);
  assertEquals(finalizedTensorCount() - finalizedBefore, 1);
});
