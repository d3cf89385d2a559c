import { gzipSync } from "node:zlib";
import { join } from "node:path";
import {
  DataError,
  DEBIAN_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
  fashionMnist,
  fashionMnistDir,
  idx,
  imageAt,
  labelCounts,
} from "../../src/data/mod.ts";
import { assert, assertBytes, assertEquals } from "./_assert.ts";
import { assertDataError, noise, tempDir, writeBytes } from "./_helpers.ts";

function idxFile(magic: number, dims: number[], payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, magic);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  out.set(payload, 4 + 4 * dims.length);
  return out;
}

// 3 images of 2 rows x 4 columns: non-square so a height/width swap shows.
const PIX = noise(3 * 2 * 4, 7);
const LABELS = new Uint8Array([2, 0, 9]);
const IMAGES_IDX = idxFile(0x803, [3, 2, 4], PIX);
const LABELS_IDX = idxFile(0x801, [3], LABELS);

Deno.test("idx reads plain IDX images and labels exactly", async () => {
  await using dir = await tempDir();
  const ip = join(dir.path, "imgs-idx3-ubyte");
  const lp = join(dir.path, "labs-idx1-ubyte");
  await writeBytes(ip, IMAGES_IDX);
  await writeBytes(lp, LABELS_IDX);
  const set = await idx(ip, lp);
  assertEquals([set.length, set.channels, set.height, set.width], [3, 1, 2, 4]);
  assertBytes(set.images, PIX);
  assertEquals(Array.from(set.labels!), [2, 0, 9]);
  assertEquals(set.classes, null);
  assertEquals(set.source, ip);
  assertBytes(imageAt(set, 1), PIX.subarray(8, 16));
});

Deno.test("idx reads gzip files by content, whatever their name", async () => {
  await using dir = await tempDir();
  const ip = join(dir.path, "imgs.gz");
  const lp = join(dir.path, "labels-no-suffix");
  await writeBytes(ip, new Uint8Array(gzipSync(IMAGES_IDX)));
  await writeBytes(lp, new Uint8Array(gzipSync(LABELS_IDX)));
  const set = await idx(ip, lp);
  assertBytes(set.images, PIX);
  assertEquals(Array.from(set.labels!), [2, 0, 9]);
});

Deno.test("idx without labels gives labels null", async () => {
  await using dir = await tempDir();
  const ip = join(dir.path, "imgs");
  await writeBytes(ip, IMAGES_IDX);
  const set = await idx(ip);
  assertEquals(set.labels, null);
  assertEquals(set.length, 3);
});

Deno.test("idx: truncated payload says expected vs actual bytes", async () => {
  await using dir = await tempDir();
  const ip = join(dir.path, "train-images-idx3-ubyte");
  await writeBytes(ip, IMAGES_IDX.subarray(0, IMAGES_IDX.length - 5));
  await assertDataError(idx(ip), ip, "truncated", "24 bytes", "19 bytes");
  // Truncated inside a gzip stream is also a DataError, not a zlib exception.
  const gz = join(dir.path, "t.gz");
  const packed = new Uint8Array(gzipSync(IMAGES_IDX));
  await writeBytes(gz, packed.subarray(0, packed.length - 10));
  await assertDataError(idx(gz), gz, "gzip");
  // Truncated header.
  const h = join(dir.path, "h");
  await writeBytes(h, IMAGES_IDX.subarray(0, 9));
  await assertDataError(idx(h), h, "truncated IDX header");
});

Deno.test("idx: trailing bytes are reported too", async () => {
  await using dir = await tempDir();
  const ip = join(dir.path, "imgs");
  await writeBytes(ip, new Uint8Array([...IMAGES_IDX, 1, 2]));
  await assertDataError(idx(ip), ip, "trailing", "26 bytes");
});

Deno.test("idx: wrong magic is a DataError naming the file and the magic", async () => {
  await using dir = await tempDir();
  const ip = join(dir.path, "not-idx.bin");
  await writeBytes(ip, new TextEncoder().encode("hello world, not an IDX file"));
  await assertDataError(idx(ip), ip, "not an IDX images file", "0x68656c6c", "0x00000803");
  const tiny = join(dir.path, "tiny");
  await writeBytes(tiny, new Uint8Array([0, 0]));
  await assertDataError(idx(tiny), tiny, "too short");
});

Deno.test("idx: swapped images/labels paths are named as such", async () => {
  await using dir = await tempDir();
  const ip = join(dir.path, "imgs");
  const lp = join(dir.path, "labs");
  await writeBytes(ip, IMAGES_IDX);
  await writeBytes(lp, LABELS_IDX);
  await assertDataError(idx(lp, ip), lp, "swap");
  // Float IDX (type 0x0d) is recognised but unsupported.
  const fp = join(dir.path, "float");
  await writeBytes(fp, idxFile(0x0d03, [1, 1, 1], new Uint8Array(4)));
  await assertDataError(idx(fp), fp, "type 0x0d");
});

Deno.test("idx: label count must equal image count", async () => {
  await using dir = await tempDir();
  const ip = join(dir.path, "imgs");
  const lp = join(dir.path, "labs");
  await writeBytes(ip, IMAGES_IDX);
  await writeBytes(lp, idxFile(0x801, [2], new Uint8Array([1, 2])));
  await assertDataError(idx(ip, lp), lp, "2 labels", "3 images");
});

Deno.test("idx: missing file is a DataError naming it", async () => {
  await using dir = await tempDir();
  const ip = join(dir.path, "nope");
  await assertDataError(idx(ip), ip, "not found");
  await assertDataError(idx(dir.path), dir.path);
});

Deno.test("fashionMnist reads train/test files from dir, .gz or plain", async () => {
  await using dir = await tempDir();
  await writeBytes(
    join(dir.path, "train-images-idx3-ubyte.gz"),
    new Uint8Array(gzipSync(IMAGES_IDX)),
  );
  await writeBytes(join(dir.path, "train-labels-idx1-ubyte"), LABELS_IDX);
  const t10k = idxFile(0x803, [1, 2, 4], PIX.subarray(0, 8));
  await writeBytes(join(dir.path, "t10k-images-idx3-ubyte"), t10k);
  await writeBytes(
    join(dir.path, "t10k-labels-idx1-ubyte.gz"),
    new Uint8Array(gzipSync(idxFile(0x801, [1], new Uint8Array([4])))),
  );
  const train = await fashionMnist({ split: "train", dir: dir.path });
  assertEquals(train.length, 3);
  assertBytes(train.images, PIX);
  assertEquals(train.classes, [...FASHION_MNIST_CLASSES]);
  assertEquals(train.classes![9], "Ankle boot");
  const test = await fashionMnist({ split: "test", dir: dir.path });
  assertEquals(test.length, 1);
  assertEquals(Array.from(test.labels!), [4]);
});

Deno.test("fashionMnist: absent files say how to get them", async () => {
  await using dir = await tempDir();
  const err = await assertDataError(
    fashionMnist({ split: "train", dir: dir.path }),
    dir.path,
    "apt-get install dataset-fashion-mnist",
    "FASHION_MNIST_DIR",
    "train-images-idx3-ubyte",
  );
  assert(err instanceof DataError);
  // Labels outside 0..9 mean this is not Fashion-MNIST.
  await writeBytes(join(dir.path, "t10k-images-idx3-ubyte"), IMAGES_IDX);
  await writeBytes(
    join(dir.path, "t10k-labels-idx1-ubyte"),
    idxFile(0x801, [3], new Uint8Array([1, 10, 2])),
  );
  await assertDataError(fashionMnist({ split: "test", dir: dir.path }), "label 10");
});

Deno.test("fashionMnistDir: FASHION_MNIST_DIR overrides the Debian path", () => {
  const old = Deno.env.get("FASHION_MNIST_DIR");
  try {
    Deno.env.set("FASHION_MNIST_DIR", "/somewhere/else");
    assertEquals(fashionMnistDir(), "/somewhere/else");
    Deno.env.delete("FASHION_MNIST_DIR");
    assertEquals(fashionMnistDir(), DEBIAN_FASHION_MNIST_DIR);
  } finally {
    if (old === undefined) Deno.env.delete("FASHION_MNIST_DIR");
    else Deno.env.set("FASHION_MNIST_DIR", old);
  }
});

let realDir: string | null = null;
try {
  const d = fashionMnistDir();
  if (Deno.statSync(join(d, "train-labels-idx1-ubyte.gz")).isFile) realDir = d;
} catch {
  // absent: the tests below are ignored
}

Deno.test({
  name: "fashionMnist real data: 60000 x 1 x 28 x 28 train, 6000 per class" +
    (realDir ? "" : " (ignored: apt-get install dataset-fashion-mnist or set FASHION_MNIST_DIR)"),
  ignore: realDir === null,
  fn: async () => {
    const set = await fashionMnist({ split: "train" });
    assertEquals([set.length, set.channels, set.height, set.width], [60000, 1, 28, 28]);
    assertEquals(set.images.length, 60000 * 784);
    assertEquals(labelCounts(set), new Array(10).fill(6000));
    // The first training image is an ankle boot (label 9) in the published data.
    assertEquals(set.labels![0], 9);
    const test = await fashionMnist({ split: "test" });
    assertEquals([test.length, test.height, test.width], [10000, 28, 28]);
    assertEquals(labelCounts(test), new Array(10).fill(1000));
  },
});
