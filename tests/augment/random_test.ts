// Per-image independence, probabilities, crop sampling semantics, determinism
// and memory of the augmentation pipeline.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { randint } from "../../ffi/creation.ts";
import { Generator } from "../../ffi/generator.ts";
import { liveTensorCount, tidy } from "../../ffi/memory.ts";
import { manualSeed } from "../../ffi/runtime.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import {
  centerCropFallback,
  drawViewParams,
  makeAugment,
  makeConfig,
  presets,
  twoViews,
} from "../../src/augment/mod.ts";

const rows = (t: Tensor) => t.toArray() as number[][];
const flat = (t: Tensor) => Array.from(t.toTypedArray(), Number);
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

function batch(n: number, c = 3, h = 32, w = 32): Tensor {
  manualSeed(11);
  return randint(0, 256, [n, c, h, w], { dtype: "uint8" });
}

Deno.test("crop boxes and jitter factors differ between the images of one batch", () => {
  using gen = new Generator(5);
  const cfg = makeConfig("cifar", { jitterP: 1 }).view1;
  tidy(() => {
    const p = drawViewParams(64, 32, 32, cfg, gen);
    const boxes = rows(p.boxes).map((b) => b.join(","));
    assert(new Set(boxes).size > 48, `only ${new Set(boxes).size} distinct boxes of 64`);
    const factors = rows(p.factors);
    for (let j = 0; j < 4; j++) {
      const col = new Set(factors.map((f) => f[j]));
      assertEquals(col.size, 64, `factor ${j} repeats within the batch`);
    }
    const orders = new Set(rows(p.order).map((o) => o.join("")));
    assert(orders.size > 12, `only ${orders.size} distinct jitter orders of 24`);
  });
});

Deno.test("crop boxes follow RandomResizedCrop's ranges and fall back to a center crop", () => {
  using gen = new Generator(6);
  const cfg = makeConfig("cifar").view1;
  tidy(() => {
    for (const b of rows(drawViewParams(2000, 32, 40, cfg, gen).boxes)) {
      const [top, left, h, w] = b;
      assert(h >= 1 && w >= 1 && top >= 0 && left >= 0, `box ${b}`);
      assert(top + h <= 32 && left + w <= 40, `box ${b} leaves the image`);
      assert(b.every(Number.isInteger), `box ${b} is not integral`);
      // Rounding to whole pixels moves area and ratio a little off the ranges.
      const area = (h * w) / (32 * 40);
      assert(area <= 1 && area >= 0.08 * 0.5, `area ${area}`);
    }
    // An unreachable ratio: every attempt fails, torchvision's fallback applies.
    const wide = makeConfig("cifar", { scale: [1, 1], ratio: [2, 2] }).view1;
    const expected = centerCropFallback(32, 32, [2, 2]);
    assertEquals(expected, [8, 0, 16, 32]);
    for (const b of rows(drawViewParams(50, 32, 32, wide, gen).boxes)) assertEquals(b, expected);
  });
});

Deno.test("each probabilistic transform fires at its rate, within 4 binomial sigmas", () => {
  using gen = new Generator(7);
  const n = 4000;
  const cfg = makeConfig("paper", {
    flipP: 0.5,
    jitterP: 0.8,
    grayscaleP: 0.2,
    blurP: 0.1,
    solarizeP: 0.3,
  }).view1;
  tidy(() => {
    const p = drawViewParams(n, 64, 64, cfg, gen);
    const rate = (t: Tensor) => mean(flat(t));
    const jittered = rows(p.factors).map((f) => (f[0] !== 1 || f[3] !== 0 ? 1 : 0));
    const cases: [string, number, number][] = [
      ["flip", rate(p.flip), cfg.flipP],
      ["jitter", mean(jittered), cfg.jitterP],
      ["grayscale", rate(p.grayscale), cfg.grayscaleP],
      ["blur", rate(p.blur), cfg.blurP],
      ["solarize", rate(p.solarize), cfg.solarizeP],
    ];
    for (const [name, got, want] of cases) {
      const sigma = Math.sqrt((want * (1 - want)) / n);
      assert(Math.abs(got - want) <= 4 * sigma, `${name}: rate ${got}, setting ${want}`);
    }
    // Each jitter op comes first for a quarter of the images.
    const first = rows(p.order).map((o) => o[0]);
    for (let op = 0; op < 4; op++) {
      const got = first.filter((v) => v === op).length / n;
      assert(Math.abs(got - 0.25) <= 4 * Math.sqrt(0.25 * 0.75 / n), `op ${op} first: ${got}`);
    }
    // Sigma is uniform on [0.1, 2.0]: mean 1.05.
    const sig = flat(p.sigma);
    assert(Math.min(...sig) >= 0.1 && Math.max(...sig) <= 2.0, "sigma out of range");
    assert(Math.abs(mean(sig) - 1.05) < 4 * (1.9 / Math.sqrt(12 * n)), `sigma mean ${mean(sig)}`);
  });
});

Deno.test("the two views of the paper preset use their own blur and solarize rates", () => {
  const { view1, view2 } = presets.paper;
  assertEquals([view1.blurP, view1.solarizeP, view2.blurP, view2.solarizeP], [1, 0, 0.1, 0.2]);
  assertEquals([presets.cifar.view1.blurP, presets.cifar.view2.solarizeP], [0, 0.2]);
  const over = makeConfig("cifar", { flipP: 0, view2: { solarizeP: 0.5 } });
  assertEquals([over.view1.flipP, over.view2.flipP, over.view2.solarizeP], [0, 0, 0.5]);
  assertThrows(() => makeConfig("cifar", { jitterP: 2 }), RangeError, "jitterP");
  assertThrows(() => makeConfig("cifar", { blurP: 1, blurKernel: 65 }), RangeError, "blurKernel");
});

Deno.test("same generator seed gives identical views, another seed different ones", () => {
  const x = batch(8);
  const aug = makeAugment("cifar");
  const run = (seed: number) => {
    using gen = new Generator(seed);
    return twoViews(x, aug, gen).map(flat);
  };
  const [a1, a2] = run(21);
  const [b1, b2] = run(21);
  const [c1] = run(22);
  assertEquals(a1, b1);
  assertEquals(a2, b2);
  assert(a1.some((v, i) => v !== c1[i]), "another seed gave the same view");
  assert(a1.some((v, i) => v !== a2[i]), "view 1 equals view 2");
  // The generator's state restores the stream.
  using gen = new Generator(99);
  const state = gen.getState();
  const [d1] = twoViews(x, aug, gen).map(flat);
  gen.setState(state);
  const [e1] = twoViews(x, aug, gen).map(flat);
  assertEquals(d1, e1);
});

Deno.test("views have the preset's shape and dtype; 1-channel data works", () => {
  using gen = new Generator(1);
  const [v1, v2] = makeAugment("cifar").twoViews(batch(4, 3, 40, 36), gen);
  assertEquals([v1.shape, v1.dtype, v2.shape], [[4, 3, 32, 32], "float32", [4, 3, 32, 32]]);
  const [g1] = makeAugment("fashion-mnist").twoViews(batch(4, 1, 28, 28), gen);
  assertEquals(g1.shape, [4, 1, 28, 28]);
  const [p1] = makeAugment("paper", { size: 48, blurKernel: 5 }).twoViews(batch(2), gen);
  assertEquals(p1.shape, [2, 3, 48, 48]);
  assertThrows(() => makeAugment("cifar").twoViews(batch(2, 1), gen), Error, "channel");
});

Deno.test("the live tensor count stays flat over 20 calls of twoViews", () => {
  const x = batch(16);
  using gen = new Generator(3);
  const aug = makeAugment("paper", { size: 32, blurKernel: 3 });
  let before = 0;
  for (let i = 0; i < 20; i++) {
    const [v1, v2] = aug.twoViews(x, gen);
    v1.dispose();
    v2.dispose();
    if (i === 1) before = liveTensorCount();
  }
  assertEquals(liveTensorCount(), before);
});
