// The loader over a memory-mapped set (src/data/mapped_set.ts, loader.ts,
// stager.ts): the same batches as the set held in memory, in place on the CPU
// and through the host stager a GPU uses; views of a mapped set stay mapped;
// and the memory a pass over a mapped set takes, in child processes, one and
// two at once (the page cache is shared; anonymous memory does not grow with
// the set).
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { ImageLoader, type Placement } from "../../src/data/loader.ts";
import { type ImageSet, sliceSet, subset } from "../../src/data/image_set.ts";
import { isMapped, mapImages, mappedImages } from "../../src/data/mapped_set.ts";
import { type Tensor, tidy } from "../../mod.ts";

const OFFSET = 4096;

/** A set of n random 3 x h x w images with labels, and the same set mapped from a file. */
function sets(dir: string, n: number, h = 6, w = 5): { memory: ImageSet; mapped: ImageSet } {
  const per = 3 * h * w;
  const bytes = new Uint8Array(n * per);
  let x = 12345;
  for (let i = 0; i < bytes.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 10);
  const path = `${dir}/images.bin`;
  const file = new Uint8Array(OFFSET + bytes.length);
  file.set(bytes, OFFSET);
  Deno.writeFileSync(path, file);
  const memory: ImageSet = {
    length: n,
    channels: 3,
    height: h,
    width: w,
    images: bytes,
    labels,
    classes: null,
    source: "test",
  };
  return { memory, mapped: { ...memory, images: mapImages(path, OFFSET, [n, 3, h, w]) } };
}

function withDir(fn: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "byol-mapped-loader-" });
  try {
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const values = (t: Tensor) => String(t.contiguous().toTypedArray());

/** Every batch of epochs 0 and 1 of `a` and `b` are equal: images, labels, indices. */
function assertSameBatches(a: ImageLoader, b: ImageLoader, order: [number, number][]): void {
  for (const [epoch, step] of order) {
    tidy(() => {
      const x = a.batch(epoch, step), y = b.batch(epoch, step);
      assertEquals(Array.from(x.indices), Array.from(y.indices), `indices ${epoch}:${step}`);
      assertEquals(x.images.shape, y.images.shape);
      assertEquals(values(x.images), values(y.images), `images of batch ${epoch}:${step}`);
      assertEquals(values(x.labels!), values(y.labels!), `labels of batch ${epoch}:${step}`);
    });
  }
}

Deno.test("mapped set: the loader's batches equal the in-memory set's, in place and staged", () => {
  withDir((dir) => {
    const { memory, mapped } = sets(dir, 203);
    assert(isMapped(mapped) && !isMapped(memory));
    const opts = { batchSize: 16, seed: 3 };
    using ref = new ImageLoader(memory, opts);
    using inPlace = new ImageLoader(mapped, opts);
    using staged = new ImageLoader(mapped, { ...opts, placement: "host" });
    using stagedMemory = new ImageLoader(memory, { ...opts, placement: "host" });
    assertEquals([inPlace.mapped, inPlace.placement], [true, "device"]);
    assertEquals([staged.placement, stagedMemory.placement], ["host", "host"]);
    assert(inPlace.where.includes("mapped"), inPlace.where);
    assertThrows(
      () => new ImageLoader(memory, { ...opts, placement: "gpu" as Placement }),
      RangeError,
      'placement must be "auto", "device" or "host", got gpu',
    );
    // In order across the epoch's end (the staged batch is the one asked for),
    // then out of order (what was staged is dropped, the asked batch gathered).
    const inOrder: [number, number][] = [];
    for (let s = 0; s < ref.stepsPerEpoch; s++) inOrder.push([0, s]);
    inOrder.push([1, 0], [1, 1]);
    const jumps: [number, number][] = [[1, 5], [0, 2], [0, 2], [3, 11], [1, 6]];
    for (const l of [inPlace, staged, stagedMemory]) {
      assertSameBatches(ref, l, [...inOrder, ...jumps]);
    }
    // The epoch generator resumes mid-epoch the same way.
    const fromGen = [...staged.epoch(2, 9)].map((b) => Array.from(b.indices));
    assertEquals(
      fromGen,
      Array.from(
        { length: ref.stepsPerEpoch - 9 },
        (_, k) => Array.from(ref.batchIndices(2, 9 + k)),
      ),
    );
  });
});

Deno.test("mapped set: subset and sliceSet views stay mapped and name their rows", () => {
  withDir((dir) => {
    const { memory, mapped } = sets(dir, 50);
    for (
      const [m, r] of [[sliceSet(mapped, 7, 31), sliceSet(memory, 7, 31)], [
        subset(mapped, 9),
        subset(memory, 9),
      ]]
    ) {
      assert(isMapped(m));
      tidy(() => {
        const t = mappedImages(m)!;
        assertEquals(t.shape, [r.length, 3, 6, 5]);
        assertEquals(Array.from(t.contiguous().toTypedArray() as Uint8Array), Array.from(r.images));
      });
    }
    assertEquals(mappedImages(memory), null);
  });
});

// --- memory: a child process walks one epoch of a mapped set -----------------

const CHILD = new URL("./_mapped_loader_child.ts", import.meta.url).pathname;

async function child(path: string, n: number, mode: "mapped" | "copy"): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, path, String(n), mode],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert(out.success, `child failed: ${text}\n${new TextDecoder().decode(out.stderr)}`);
  const m = text.match(/growth (\d+)/);
  assert(m !== null, text);
  return Number(m[1]);
}

Deno.test({
  name: "mapped set: an epoch over 256 MiB grows RssAnon by far less, one process or two at once",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "byol-mapped-rss-" });
    try {
      // 256 MiB of 3 x 64 x 64 images, written in 16 MiB pieces.
      const per = 3 * 64 * 64, n = Math.floor(256 * 2 ** 20 / per);
      const path = `${dir}/images.bin`;
      using f = await Deno.open(path, { write: true, create: true });
      await f.write(new Uint8Array(OFFSET));
      const piece = new Uint8Array(16 * 2 ** 20).map((_, i) => (i * 31) & 255);
      for (let left = n * per; left > 0; left -= piece.length) {
        await f.write(piece.subarray(0, Math.min(left, piece.length)));
      }
      const size = n * per;
      // The control: the same walk over a copy grows by the whole set, so the
      // measure sees it.
      const copied = await child(path, n, "copy");
      assert(copied > 0.9 * size, `a copied set grew RssAnon by only ${copied} bytes`);
      // Bound from the arithmetic: a batch (256 images, 3 MiB) and the
      // allocator's blocks, far below the 256 MiB a copy takes.
      const bound = 64 * 2 ** 20;
      const one = await child(path, n, "mapped");
      assert(one < bound, `one process: RssAnon grew by ${one} bytes over a ${size}-byte set`);
      const two = await Promise.all([child(path, n, "mapped"), child(path, n, "mapped")]);
      assert(two[0] + two[1] < 2 * bound, `two processes: RssAnon grew by ${two} bytes`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
