// Damaged inputs of every kind must end in a DataError (or a successful
// decode of garbage pixels), never another exception, a hang or a crash.
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { cifar, DataError, idx, imageFolder } from "../../src/data/mod.ts";
import { DecodeFailure, decodeImage } from "../../src/data/decode.ts";
import { assert, assertEquals } from "./_assert.ts";
import { noise, rgbaImage, tempDir, writeBytes } from "./_helpers.ts";

const spec = { height: 6, width: 6, channels: 3 as const, antialias: true };

function variants(src: Uint8Array, step: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let cut = 0; cut < src.length; cut += step) {
    out.push(src.slice(0, cut));
    const flipped = src.slice();
    flipped[cut] ^= 0xff;
    out.push(flipped);
    const smeared = src.slice();
    smeared.set(noise(Math.min(16, src.length - cut), cut + 1), cut);
    out.push(smeared);
  }
  return out;
}

Deno.test("robustness: damaged PNG and JPEG bytes only ever give DecodeFailure", async () => {
  const img = rgbaImage(20, 13, (x, y) => [x * 10, y * 15, (x * y) & 255, 255]);
  for (const src of [await img.encode(), await img.encodeJPEG(85)]) {
    for (const b of variants(src, 3)) {
      try {
        const px = await decodeImage(b, spec);
        assert(px.length === 108, `decoded to ${px.length} bytes`);
      } catch (err) {
        assert(err instanceof DecodeFailure, `unexpected ${String(err)}`);
      }
    }
  }
});

Deno.test("robustness: damaged images in a folder are skipped and named", async () => {
  await using dir = await tempDir();
  const src = await rgbaImage(9, 9, (x, y) => [x * 20, y * 20, 5, 255]).encode();
  await writeBytes(join(dir.path, "a", "ok.png"), src);
  const p = join(dir.path, "a", "x.png");
  let skipped = 0;
  for (const b of (variants(src, 11)).slice(0, 60)) {
    await writeBytes(p, b);
    const set = await imageFolder(dir.path, { size: 6, channels: 3, cache: false });
    if (set.length === 1) {
      assertEquals(set.skipped?.map((s) => s.path), [p]);
      assert(set.skipped![0].reason.includes("corrupt"), set.skipped![0].reason);
      skipped++;
    } else {
      assertEquals([set.length, set.skipped], [2, []]);
    }
  }
  assert(skipped > 30, `only ${skipped} damaged files were skipped`);
  // With no good image left, the load is a DataError naming the file.
  await Deno.remove(join(dir.path, "a", "ok.png"));
  await writeBytes(p, src.slice(0, 20));
  try {
    await imageFolder(dir.path, { size: 6, channels: 3, cache: false });
    assert(false, "a folder of only damaged images must fail");
  } catch (err) {
    assert(err instanceof DataError, `unexpected ${String(err)}`);
    assert(err.message.includes(p), err.message);
  }
});

Deno.test("robustness: every truncation and garbage IDX/CIFAR file is a DataError", async () => {
  await using dir = await tempDir();
  const good = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, ...noise(8, 1)]);
  const p = join(dir.path, "f");
  const cases = [
    ...Array.from({ length: good.length }, (_, n) => good.slice(0, n)),
    ...Array.from({ length: 16 }, (_, i) => {
      const b = good.slice();
      b[i] ^= 0x80; // header bits: a huge dimension or a wrong magic
      return b;
    }),
    noise(100, 3),
    new Uint8Array(gzipSync(good)).slice(0, 20),
    new Uint8Array([0x1f, 0x8b]),
  ];
  for (const b of cases) {
    await writeBytes(p, b);
    try {
      await idx(p, p);
      assert(false, "loading images as their own labels must fail");
    } catch (err) {
      assert(err instanceof DataError, `unexpected ${String(err)}`);
    }
  }
  const c = join(dir.path, "c");
  for (const n of [1, 3072, 3074, 6145]) {
    await writeBytes(join(c, "test_batch.bin"), noise(n, n));
    try {
      await cifar(c, { split: "test" });
      assert(false, `a ${n}-byte CIFAR file must fail`);
    } catch (err) {
      assert(err instanceof DataError, `unexpected ${String(err)}`);
    }
  }
});
