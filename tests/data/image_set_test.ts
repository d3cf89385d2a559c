import { imageAt, type ImageSet, labelAt, labelCounts, subset } from "../../src/data/mod.ts";
import { assertBytes, assertEquals } from "./_assert.ts";

const set: ImageSet = {
  length: 4,
  channels: 1,
  height: 2,
  width: 3,
  images: Uint8Array.from({ length: 24 }, (_, i) => i),
  labels: Int32Array.from([1, 0, 2, 1]),
  classes: ["a", "b", "c"],
  source: "mem",
};

Deno.test("imageAt / labelAt index images and labels", () => {
  assertBytes(imageAt(set, 2), [12, 13, 14, 15, 16, 17]);
  assertEquals(labelAt(set, 3), 1);
  // Views, not copies.
  assertEquals(imageAt(set, 1).buffer, set.images.buffer);
  for (const bad of [-1, 4, 1.5]) {
    let threw = false;
    try {
      imageAt(set, bad);
    } catch (e) {
      threw = e instanceof RangeError;
    }
    assertEquals(threw, true, `imageAt(${bad})`);
  }
});

Deno.test("subset returns the first n images as views, clamped to length", () => {
  const s = subset(set, 2);
  assertEquals(s.length, 2);
  assertBytes(s.images, set.images.subarray(0, 12));
  assertEquals(Array.from(s.labels!), [1, 0]);
  assertEquals(s.images.buffer, set.images.buffer);
  assertEquals(subset(set, 10).length, 4);
  assertEquals(subset({ ...set, labels: null }, 1).labels, null);
  assertEquals(subset(set, 0).images.length, 0);
});

Deno.test("labelCounts counts per class, including empty classes", () => {
  assertEquals(labelCounts(set), [1, 2, 1]);
  assertEquals(labelCounts({ ...set, labels: Int32Array.from([0, 0, 0, 0]) }), [4, 0, 0]);
  assertEquals(labelCounts({ ...set, labels: null }), []);
});
