// --val-size: the last N training images become the scored split, carved
// before --limit, so a recipe can be tuned without the test split.
import { assert, assertEquals, assertRejects } from "../helpers/asserts.ts";
import { fashionMnist } from "../../src/data/idx.ts";
import { DataError } from "../../src/data/errors.ts";
import { loadDataSource } from "../../src/train/data_source.ts";

const req = {
  data: "fashion-mnist",
  imageSize: 28,
  storedSize: 28,
  channels: 1,
  limit: 0,
  valSize: 0,
};

Deno.test("--val-size holds out the last training images and scores them instead of the test split", async () => {
  const full = await fashionMnist({ split: "train" });
  const plain = await loadDataSource(req);
  assertEquals(plain.testSplit, "test");
  assertEquals(plain.train.length, full.length);

  const v = await loadDataSource({ ...req, valSize: 10_000, limit: 5_000 });
  assertEquals(v.testSplit, "validation");
  assertEquals(v.test!.length, 10_000);
  assertEquals(v.train.length, 5_000);
  const px = 28 * 28;
  const n = full.length;
  // The held-out images are the last 10,000 of the training file, pixel for pixel.
  assertEquals(v.test!.images, full.images.subarray((n - 10_000) * px, n * px));
  assertEquals(v.test!.labels, full.labels!.subarray(n - 10_000, n));
  assertEquals(v.train.images, full.images.subarray(0, 5_000 * px));
  assert(v.description.includes("held out"));
});

Deno.test("--val-size larger than the training set is refused with the limit", async () => {
  const e = await assertRejects(
    () => loadDataSource({ ...req, valSize: 59_999 }),
    DataError,
  );
  assert(e.message.includes("hold out at most 59998"), e.message);
});
