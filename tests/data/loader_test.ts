// ImageLoader: epoch order from (seed, epoch) only, full coverage, dropLast, resume.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { liveTensorCount } from "../../ffi/memory.ts";
import type { ImageSet } from "../../src/data/image_set.ts";
import { epochOrder, ImageLoader } from "../../src/data/loader.ts";

function set(n: number, labeled = true): ImageSet {
  const c = 1, h = 2, w = 3;
  const images = new Uint8Array(n * c * h * w);
  // Every pixel of image i holds i % 256: batches say which images they hold.
  for (let i = 0; i < n; i++) images.fill(i % 256, i * 6, (i + 1) * 6);
  const labels = labeled ? Int32Array.from({ length: n }, (_, i) => i % 7) : null;
  return {
    length: n,
    channels: c,
    height: h,
    width: w,
    images,
    labels,
    classes: null,
    source: "t",
  };
}

const ids = (a: Int32Array) => Array.from(a);

Deno.test("epoch order is reproducible from (seed, epoch) and differs across them", () => {
  const a = ids(epochOrder(1000, 42, 3));
  assertEquals(ids(epochOrder(1000, 42, 3)), a);
  assert(ids(epochOrder(1000, 42, 4)).some((v, i) => v !== a[i]), "epochs 3 and 4 agree");
  assert(ids(epochOrder(1000, 43, 3)).some((v, i) => v !== a[i]), "seeds 42 and 43 agree");
  assertEquals([...a].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assertEquals(ids(epochOrder(5, 42, 0, false)), [0, 1, 2, 3, 4]);
});

Deno.test("an epoch covers every index once; dropLast drops only the tail", () => {
  using keepAll = new ImageLoader(set(103), { batchSize: 10, seed: 1, dropLast: false });
  assertEquals(keepAll.stepsPerEpoch, 11);
  const seen: number[] = [];
  for (const b of keepAll.epoch(0)) {
    seen.push(...b.indices);
    // The uploaded pixels and labels follow the indices.
    const px = b.images.toTypedArray() as Uint8Array;
    const labels = Array.from(b.labels!.toTypedArray(), Number);
    b.indices.forEach((idx, k) => {
      assertEquals(px[k * 6], idx % 256);
      assertEquals(labels[k], idx % 7);
    });
    assertEquals(b.images.shape, [b.indices.length, 1, 2, 3]);
    assertEquals(b.images.dtype, "uint8");
    b.images.dispose();
    b.labels!.dispose();
  }
  assertEquals(seen.length, 103);
  assertEquals(new Set(seen).size, 103);

  using drop = new ImageLoader(set(103, false), { batchSize: 10, seed: 1 });
  assertEquals(drop.stepsPerEpoch, 10);
  const sizes = [...drop.epoch(0)].map((b) => {
    assertEquals(b.labels, null);
    b.images.dispose();
    return b.indices.length;
  });
  assertEquals(sizes, Array(10).fill(10));
  assertThrows(() => new ImageLoader(set(5), { batchSize: 10 }), RangeError, "full batch");
});

Deno.test("resuming at (epoch, step) yields the same batches as an uninterrupted run", () => {
  using loader = new ImageLoader(set(50), { batchSize: 8, seed: 9 });
  const live = liveTensorCount();
  const full: number[][] = [];
  for (const b of loader.batches({ epochs: 3 })) {
    full.push(ids(b.indices));
    b.images.dispose();
    b.labels!.dispose();
  }
  assertEquals(full.length, 3 * loader.stepsPerEpoch);
  const resumed: number[][] = [];
  for (const b of loader.batches({ epoch: 1, step: 4, epochs: 3 })) {
    resumed.push(ids(b.indices));
    b.images.dispose();
    b.labels!.dispose();
  }
  assertEquals(resumed, full.slice(loader.stepsPerEpoch + 4));
  assertEquals(ids(loader.batchIndices(2, 3)), full[2 * loader.stepsPerEpoch + 3]);
  // A new loader with the same seed agrees; shuffle off keeps dataset order.
  using again = new ImageLoader(set(50), { batchSize: 8, seed: 9 });
  assertEquals(ids(again.batchIndices(0, 0)), full[0]);
  using plain = new ImageLoader(set(50), { batchSize: 8, shuffle: false });
  assertEquals(ids(plain.batchIndices(1, 1)), [8, 9, 10, 11, 12, 13, 14, 15]);
  assertEquals(liveTensorCount(), live + 4);
});
