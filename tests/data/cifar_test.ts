import { join } from "node:path";
import { cifar, imageAt } from "../../src/data/mod.ts";
import { assertBytes, assertEquals } from "./_assert.ts";
import { assertDataError, noise, tempDir, writeBytes } from "./_helpers.ts";

const PIXELS = 3072;

/** Records with the given label bytes (1 or 2 per record) and seeded pixels. */
function batch(labels: number[][], seed: number): { bytes: Uint8Array; pixels: Uint8Array[] } {
  const rec = labels[0].length + PIXELS;
  const bytes = new Uint8Array(labels.length * rec);
  const pixels: Uint8Array[] = [];
  labels.forEach((l, i) => {
    bytes.set(l, i * rec);
    const px = noise(PIXELS, seed * 100 + i + 1);
    bytes.set(px, i * rec + l.length);
    pixels.push(px);
  });
  return { bytes, pixels };
}

const NAMES10 = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
];

/** Writes a CIFAR-10 tree with 2 records per train batch; returns expected data. */
async function cifar10(root: string) {
  const folder = join(root, "cifar-10-batches-bin");
  const train: { labels: number[]; pixels: Uint8Array[] } = { labels: [], pixels: [] };
  for (let b = 1; b <= 5; b++) {
    const labels = [[b], [9 - b]];
    const { bytes, pixels } = batch(labels, b);
    await writeBytes(join(folder, `data_batch_${b}.bin`), bytes);
    train.labels.push(b, 9 - b);
    train.pixels.push(...pixels);
  }
  const t = batch([[3], [0], [7]], 99);
  await writeBytes(join(folder, "test_batch.bin"), t.bytes);
  // The real file ends with blank lines.
  await writeBytes(
    join(folder, "batches.meta.txt"),
    new TextEncoder().encode(NAMES10.join("\n") + "\n\n"),
  );
  return { folder, train, test: { labels: [3, 0, 7], pixels: t.pixels } };
}

Deno.test("cifar-10: train batches in order, CHW pixels, labels and class names", async () => {
  await using dir = await tempDir();
  const exp = await cifar10(dir.path);
  // The folder itself and its parent both work.
  for (const d of [exp.folder, dir.path]) {
    const set = await cifar(d, { variant: 10, split: "train" });
    assertEquals([set.length, set.channels, set.height, set.width], [10, 3, 32, 32]);
    assertEquals(Array.from(set.labels!), exp.train.labels);
    for (let i = 0; i < 10; i++) assertBytes(imageAt(set, i), exp.train.pixels[i], `image ${i}`);
    assertEquals(set.classes, NAMES10);
    assertEquals(set.source, exp.folder);
  }
  const test = await cifar(dir.path, { split: "test" }); // variant detected
  assertEquals(Array.from(test.labels!), [3, 0, 7]);
  assertBytes(imageAt(test, 2), exp.test.pixels[2]);
});

Deno.test("cifar-10 without batches.meta.txt has classes null", async () => {
  await using dir = await tempDir();
  const exp = await cifar10(dir.path);
  await Deno.remove(join(exp.folder, "batches.meta.txt"));
  const set = await cifar(exp.folder, { split: "test" });
  assertEquals(set.classes, null);
  assertEquals(set.length, 3);
});

Deno.test("cifar-100: fine labels by default, coarse on request, names files", async () => {
  await using dir = await tempDir();
  const folder = join(dir.path, "cifar-100-binary");
  const { bytes, pixels } = batch([[3, 42], [19, 99], [0, 0]], 5);
  await writeBytes(join(folder, "train.bin"), bytes);
  await writeBytes(join(folder, "test.bin"), batch([[1, 2]], 6).bytes);
  const fine = Array.from({ length: 100 }, (_, i) => `fine${i}`);
  const coarse = Array.from({ length: 20 }, (_, i) => `coarse${i}`);
  await writeBytes(join(folder, "fine_label_names.txt"), new TextEncoder().encode(fine.join("\n")));
  await writeBytes(
    join(folder, "coarse_label_names.txt"),
    new TextEncoder().encode(coarse.join("\n")),
  );
  const f = await cifar(dir.path, { variant: 100 });
  assertEquals(Array.from(f.labels!), [42, 99, 0]);
  assertEquals(f.classes, fine);
  assertBytes(imageAt(f, 1), pixels[1]);
  const c = await cifar(folder, { variant: 100, labels: "coarse" });
  assertEquals(Array.from(c.labels!), [3, 19, 0]);
  assertEquals(c.classes, coarse);
  const t = await cifar(dir.path, { split: "test" }); // detects CIFAR-100
  assertEquals(Array.from(t.labels!), [2]);
});

Deno.test("cifar: file size not a multiple of the record size is a DataError", async () => {
  await using dir = await tempDir();
  const exp = await cifar10(dir.path);
  const p = join(exp.folder, "data_batch_3.bin");
  const good = await Deno.readFile(p);
  await Deno.writeFile(p, good.subarray(0, good.length - 100));
  await assertDataError(cifar(dir.path), p, "not a positive multiple", "3073", "bytes left over");
  await Deno.writeFile(p, new Uint8Array(0));
  await assertDataError(cifar(dir.path), p, "size 0");
  // A CIFAR-100 file read as CIFAR-10 has the wrong record size.
  const t = join(exp.folder, "test_batch.bin");
  await Deno.writeFile(t, batch([[1, 2], [3, 4]], 1).bytes);
  await assertDataError(cifar(dir.path, { split: "test" }), t, "3073");
});

Deno.test("cifar: out-of-range labels, missing files and bad options are DataErrors", async () => {
  await using dir = await tempDir();
  const exp = await cifar10(dir.path);
  const t = join(exp.folder, "test_batch.bin");
  await Deno.writeFile(t, batch([[1], [10]], 1).bytes);
  await assertDataError(cifar(dir.path, { split: "test" }), t, "record 1", "label 10");
  await Deno.remove(join(exp.folder, "data_batch_4.bin"));
  await assertDataError(cifar(dir.path), join(exp.folder, "data_batch_4.bin"), "not found");
  await assertDataError(cifar(dir.path, { labels: "coarse" }), "no coarse labels");
  await using empty = await tempDir();
  await assertDataError(
    cifar(empty.path),
    empty.path,
    "no CIFAR-10 or CIFAR-100",
    "cs.toronto.edu",
  );
  await assertDataError(cifar(empty.path, { variant: 100 }), "cifar-100-binary");
  await assertDataError(cifar(join(empty.path, "nope")), "nope");
});
