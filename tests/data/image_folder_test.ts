import { join } from "node:path";
import { imageAt, imageFolder, type ImageSet } from "../../src/data/mod.ts";
import { pythonJson } from "../helpers/python.ts";
import { assert, assertBytes, assertEquals } from "./_assert.ts";
import {
  assertDataError,
  encodePng,
  noise,
  planes,
  rgbaImage,
  tempDir,
  writeBytes,
  writePng,
} from "./_helpers.ts";

type Px = [number, number, number, number];
const fA = (x: number, y: number): Px => [x * 40, y * 50, 255 - x * 10, 255];
const fB = (x: number, y: number): Px => [(x * y * 7) & 255, 3, 250, 100 + x];
const fC = (x: number, y: number): Px => [x === y ? 255 : 0, 128, (x + 1) * 30, 255];

const noCache = { cache: false } as const;

/** root/cat/{a,b}.png, root/dog/c.png, root/bird/sub/d.png (+ noise files). */
async function labeledTree(root: string) {
  await writePng(join(root, "cat", "b.png"), rgbaImage(5, 4, fB));
  await writePng(join(root, "cat", "a.png"), rgbaImage(5, 4, fA));
  await writePng(join(root, "dog", "c.png"), rgbaImage(5, 4, fC));
  await writePng(join(root, "bird", "sub", "d.png"), rgbaImage(5, 4, fA));
  await writePng(join(root, "bird", "e.PNG"), rgbaImage(5, 4, fB));
  await writeBytes(join(root, "README.txt"), new TextEncoder().encode("not an image"));
  await writeBytes(join(root, "cat", ".DS_Store"), new Uint8Array([0, 0, 0, 1, 66, 117, 100, 49]));
  await writeBytes(join(root, "dog", "notes.md"), new TextEncoder().encode("# notes"));
  // macOS AppleDouble companion: hidden, so skipped although it ends in .png.
  await writeBytes(join(root, "dog", "._c.png"), new Uint8Array([0, 5, 22, 7, 0, 2, 0, 0]));
  await writePng(join(root, ".hidden", "x.png"), rgbaImage(5, 4, fA));
}

Deno.test("imageFolder: classes sorted, labels, exact pixels at native size (RGB and RGBA)", async () => {
  await using dir = await tempDir();
  await labeledTree(dir.path);
  const set = await imageFolder(dir.path, { size: [4, 5], channels: 3, ...noCache });
  assertEquals(set.classes, ["bird", "cat", "dog"]);
  assertEquals([set.length, set.channels, set.height, set.width], [5, 3, 4, 5]);
  // bird: e.PNG (folder's own files first, as os.walk order), then sub/d.png.
  assertEquals(Array.from(set.labels!), [0, 0, 1, 1, 2]);
  const order = [fB, fA, fA, fB, fC];
  order.forEach((f, i) => assertBytes(imageAt(set, i), planes(5, 4, 3, f), `image ${i}`));
  const rgba = await imageFolder(dir.path, { size: [4, 5], channels: 4, ...noCache });
  order.forEach((f, i) => assertBytes(imageAt(rgba, i), planes(5, 4, 4, f), `rgba image ${i}`));
  assertEquals(set.source, dir.path);
});

Deno.test("imageFolder: channel conversions are exact", async () => {
  await using dir = await tempDir();
  const w = 4, h = 2;
  // RGB (type 2): hand-computed BT.601 luma.
  const rgb = new Uint8Array([
    255,
    0,
    0,
    0,
    255,
    0,
    0,
    0,
    255,
    10,
    20,
    30,
    255,
    255,
    255,
    0,
    0,
    0,
    128,
    128,
    128,
    1,
    2,
    3,
  ]);
  await writeBytes(join(dir.path, "rgb", "x.png"), encodePng(w, h, 2, rgb));
  const luma = [76, 150, 29, 18, 255, 0, 128, 2];
  // Gray (type 0) and gray+alpha (type 4).
  const gray = new Uint8Array([0, 1, 2, 127, 128, 200, 254, 255]);
  await writeBytes(join(dir.path, "gray", "g.png"), encodePng(w, h, 0, gray));
  const ga = new Uint8Array(16);
  gray.forEach((v, i) => {
    ga[2 * i] = v;
    ga[2 * i + 1] = 255 - i * 30;
  });
  await writeBytes(join(dir.path, "grayalpha", "ga.png"), encodePng(w, h, 4, ga));
  // Palette (type 3).
  const pal = new Uint8Array([9, 8, 7, 200, 100, 50]);
  await writeBytes(
    join(dir.path, "palette", "p.png"),
    encodePng(w, h, 3, new Uint8Array([0, 1, 1, 0, 1, 1, 0, 0]), pal),
  );

  const one = await imageFolder(dir.path, { size: [h, w], channels: 1, ...noCache });
  assertEquals(one.classes, ["gray", "grayalpha", "palette", "rgb"]);
  assertBytes(imageAt(one, 0), gray, "gray -> 1");
  assertBytes(imageAt(one, 1), gray, "gray+alpha -> 1 drops alpha");
  assertBytes(imageAt(one, 3), luma, "rgb -> 1");
  const three = await imageFolder(dir.path, { size: [h, w], channels: 3, ...noCache });
  assertBytes(imageAt(three, 0), [...gray, ...gray, ...gray], "gray -> 3 repeats");
  const palRgb = [0, 1, 1, 0, 1, 1, 0, 0].map((k) => pal.subarray(3 * k, 3 * k + 3));
  assertBytes(
    imageAt(three, 2),
    [0, 1, 2].flatMap((c) => palRgb.map((p) => p[c])),
    "palette -> 3",
  );
  assertBytes(
    imageAt(three, 3),
    [0, 1, 2].flatMap((c) => Array.from({ length: 8 }, (_, i) => rgb[3 * i + c])),
    "rgb -> 3",
  );
  const four = await imageFolder(dir.path, { size: [h, w], channels: 4, ...noCache });
  assertBytes(
    imageAt(four, 0),
    [...gray, ...gray, ...gray, ...new Array(8).fill(255)],
    "gray -> 4",
  );
  assertBytes(
    imageAt(four, 1),
    [...gray, ...gray, ...gray, ...Array.from({ length: 8 }, (_, i) => 255 - i * 30)],
    "gray+alpha -> 4 keeps alpha",
  );
  assertBytes(imageAt(four, 3).subarray(24), new Array(8).fill(255), "rgb -> 4 adds alpha 255");
});

Deno.test("imageFolder: resize of a constant image stays constant; 2x2-block downscale", async () => {
  await using dir = await tempDir();
  await writePng(join(dir.path, "a", "const.png"), rgbaImage(37, 23, () => [12, 200, 99, 255]));
  const set = await imageFolder(dir.path, { size: 16, channels: 3, ...noCache });
  assertEquals([set.height, set.width], [16, 16]);
  assertBytes(imageAt(set, 0), [12, 200, 99].flatMap((v) => new Array(256).fill(v)));
  const up = await imageFolder(dir.path, { size: [40, 50], channels: 1, ...noCache });
  const l = (19595 * 12 + 38470 * 200 + 7471 * 99 + 0x8000) >> 16;
  assertBytes(imageAt(up, 0), new Array(2000).fill(l));

  await using d2 = await tempDir();
  const blocks = (x: number, y: number): Px => {
    const on = (Math.floor(x / 2) + Math.floor(y / 2)) % 2 === 0;
    return on ? [240, 30, 0, 255] : [20, 100, 255, 255];
  };
  await writePng(join(d2.path, "c", "check.png"), rgbaImage(8, 8, blocks));
  const plain = await imageFolder(d2.path, { size: 4, channels: 3, antialias: false, ...noCache });
  const small = (x: number, y: number): Px => blocks(2 * x, 2 * y);
  assertBytes(imageAt(plain, 0), planes(4, 4, 3, small), "plain bilinear keeps the blocks");
  // Antialiased (Pillow/torchvision): at scale 2 the triangle filter spans 4
  // input pixels with weights 1,3,3,1 /8, clipped to 3,3,1 /7 at the edges
  // (worked out by hand); rows first, rounded, then columns.
  const W = [[0, [3, 3, 1], 7], [1, [1, 3, 3, 1], 8], [3, [1, 3, 3, 1], 8], [
    5,
    [1, 3, 3],
    7,
  ]] as const;
  const down = (v: number[]) =>
    W.map(([s, k, d]) => Math.round(k.reduce((a, w, t) => a + w * v[s + t], 0) / d));
  const aa = await imageFolder(d2.path, { size: 4, channels: 3, ...noCache });
  for (let c = 0; c < 3; c++) {
    const full = Array.from(
      { length: 8 },
      (_, y) => Array.from({ length: 8 }, (_, x) => blocks(x, y)[c]),
    );
    const rows = full.map(down); // 8 x 4
    const want = Array.from({ length: 4 }, (_, x) => down(rows.map((r) => r[x]))); // [x][y]
    const got = imageAt(aa, 0).subarray(c * 16, c * 16 + 16);
    assertBytes(
      got,
      Array.from({ length: 16 }, (_, i) => want[i % 4][Math.floor(i / 4)]),
      `aa channel ${c}`,
    );
  }
});

Deno.test("imageFolder: nested files in torchvision order, (folder, name) sorted", async () => {
  await using dir = await tempDir();
  // Sorted (folder, name) pairs: k < k/a < k/a-b < k/a/x ("-" sorts below "/").
  const files = ["k/z.png", "k/a/2.png", "k/a-b/1.png", "k/a/x/3.png"];
  for (const [i, f] of [...files].reverse().entries()) {
    await writeBytes(join(dir.path, f), encodePng(1, 1, 0, new Uint8Array([files.length - 1 - i])));
  }
  const set = await imageFolder(dir.path, { size: 1, channels: 1, ...noCache });
  assertBytes(set.images, [0, 1, 2, 3]);
});

Deno.test("imageFolder: JPEG decodes (approximately, it is lossy) and is found by content", async () => {
  await using dir = await tempDir();
  const img = rgbaImage(16, 8, () => [200, 60, 30, 255]);
  const jpg = await img.encodeJPEG(100);
  await writeBytes(join(dir.path, "x", "photo.jpg"), jpg);
  await writeBytes(join(dir.path, "x", "actually-jpeg.png"), jpg);
  await writeBytes(join(dir.path, "x", "no-extension"), await rgbaImage(16, 8, fB).encode());
  const set = await imageFolder(dir.path, { size: [8, 16], channels: 3, ...noCache });
  assertEquals(set.length, 3);
  for (const i of [0, 2]) { // actually-jpeg.png, photo.jpg (sorted by name)
    const px = imageAt(set, i);
    [200, 60, 30].forEach((v, c) => {
      for (let k = 0; k < 128; k++) {
        assert(Math.abs(px[c * 128 + k] - v) <= 3, `jpeg channel ${c}: ${px[c * 128 + k]} vs ${v}`);
      }
    });
  }
  assertBytes(imageAt(set, 1), planes(16, 8, 3, fB), "extension-less PNG");
});

Deno.test("imageFolder: unlabeled mode, auto-detected and forced", async () => {
  await using dir = await tempDir();
  await writePng(join(dir.path, "b.png"), rgbaImage(3, 3, fB));
  await writePng(join(dir.path, "a.png"), rgbaImage(3, 3, fA));
  await writePng(join(dir.path, "z", "c.png"), rgbaImage(3, 3, fC));
  // Sub-folder "z" has images, so the default is labeled: only z/c.png.
  const lab = await imageFolder(dir.path, { size: 3, channels: 3, ...noCache });
  assertEquals(lab.classes, ["z"]);
  assertEquals(lab.length, 1);
  const all = await imageFolder(dir.path, { size: 3, channels: 3, labeled: false, ...noCache });
  assertEquals(all.length, 3);
  assertEquals(all.labels, null);
  assertEquals(all.classes, null);
  [fA, fB, fC].forEach((f, i) => assertBytes(imageAt(all, i), planes(3, 3, 3, f)));
  await Deno.remove(join(dir.path, "z"), { recursive: true });
  const flat = await imageFolder(dir.path, { size: 3, channels: 3, ...noCache });
  assertEquals([flat.length, flat.labels], [2, null]);
});

/** Asserts `set` holds only ok.png (fA) and names `p` as skipped with `reason`. */
function assertSkipped(set: ImageSet, p: string, ...reason: string[]) {
  assertEquals([set.length, Array.from(set.labels!)], [1, [0]]);
  assertBytes(imageAt(set, 0), planes(4, 4, 3, fA), "the good image");
  assertEquals(set.skipped?.map((s) => s.path), [p]);
  for (const r of reason) assert(set.skipped![0].reason.includes(r), set.skipped![0].reason);
}

Deno.test("imageFolder: a corrupt PNG or JPEG is skipped and named", async () => {
  await using dir = await tempDir();
  await using cache = await tempDir();
  await writePng(join(dir.path, "a", "ok.png"), rgbaImage(4, 4, fA));
  const good = encodePng(4, 4, 0, noise(16, 3));
  const bad = good.slice();
  bad.fill(0x55, 40, bad.length - 12); // garbage inside IDAT
  const p = join(dir.path, "a", "broken.png");
  await writeBytes(p, bad);
  for (const workers of [0, 2]) {
    for (const cached of [noCache, { cacheDir: cache.path }]) {
      const set = await imageFolder(dir.path, { size: 4, channels: 3, workers, ...cached });
      assertSkipped(set, p, "corrupt or unsupported image");
    }
  }
  // Truncated PNG (signature + part of IHDR).
  await writeBytes(p, good.subarray(0, 20));
  assertSkipped(await imageFolder(dir.path, { size: 4, channels: 3, ...noCache }), p, "corrupt");
  // Corrupt JPEG.
  const jpg = await rgbaImage(8, 8, fB).encodeJPEG(90);
  await writeBytes(p, jpg.subarray(0, 30));
  assertSkipped(await imageFolder(dir.path, { size: 4, channels: 3, ...noCache }), p, "corrupt");
  // Nothing left to load: a DataError naming the count and the file.
  await Deno.remove(join(dir.path, "a", "ok.png"));
  await assertDataError(
    imageFolder(dir.path, { size: 4, channels: 3, ...noCache }),
    "all 1 image files failed to decode",
    p,
  );
});

Deno.test("imageFolder: a text file with .png extension is skipped and named", async () => {
  await using dir = await tempDir();
  await writePng(join(dir.path, "a", "ok.png"), rgbaImage(4, 4, fA));
  const p = join(dir.path, "a", "notes.png");
  await writeBytes(p, new TextEncoder().encode("this is not a png\n"));
  assertSkipped(
    await imageFolder(dir.path, { size: 4, channels: 3, ...noCache }),
    p,
    "corrupt or unsupported image",
    "not a PNG or JPEG",
  );
  await writeBytes(p, new Uint8Array(0));
  assertSkipped(await imageFolder(dir.path, { size: 4, channels: 3, ...noCache }), p, "0 bytes");
});

Deno.test("imageFolder: empty folders and folders without images are DataErrors", async () => {
  await using dir = await tempDir();
  await assertDataError(
    imageFolder(dir.path, { size: 4, channels: 3, ...noCache }),
    dir.path,
    "no images found",
  );
  await writeBytes(join(dir.path, "README.txt"), new TextEncoder().encode("hi"));
  await Deno.mkdir(join(dir.path, "empty-class"));
  await assertDataError(
    imageFolder(dir.path, { size: 4, channels: 3, ...noCache }),
    dir.path,
    "no images found",
  );
  await assertDataError(
    imageFolder(dir.path, { size: 4, channels: 3, labeled: true, ...noCache }),
    "empty-class",
    "no PNG/JPEG images",
  );
  await writePng(join(dir.path, "full", "a.png"), rgbaImage(4, 4, fA));
  await assertDataError(imageFolder(dir.path, { size: 4, channels: 3, ...noCache }), "empty-class");
  await assertDataError(
    imageFolder(join(dir.path, "missing"), { size: 4, channels: 3, ...noCache }),
    join(dir.path, "missing"),
    "not found",
  );
  await assertDataError(
    imageFolder(join(dir.path, "README.txt"), { size: 4, channels: 3, ...noCache }),
    "not a folder",
  );
});

Deno.test("imageFolder: unsupported formats and bad options are DataErrors", async () => {
  await using dir = await tempDir();
  await writePng(join(dir.path, "a", "ok.png"), rgbaImage(4, 4, fA));
  const gif = join(dir.path, "a", "anim.gif");
  await writeBytes(gif, new TextEncoder().encode("GIF89a"));
  await assertDataError(
    imageFolder(dir.path, { size: 4, channels: 3, ...noCache }),
    gif,
    "unsupported image format",
  );
  await Deno.remove(gif);
  await assertDataError(imageFolder(dir.path, { size: 0, channels: 3, ...noCache }), "size");
  await assertDataError(
    imageFolder(dir.path, { size: 4, channels: 2 as unknown as 3, ...noCache }),
    "channels",
  );
  await assertDataError(imageFolder(dir.path, { size: [4, 4.5], channels: 3, ...noCache }), "size");
  await assertDataError(
    imageFolder(dir.path, { size: 4, channels: 3, workers: -1, ...noCache }),
    "workers",
  );
});

async function bigFolder(root: string, n: number) {
  for (let i = 0; i < n; i++) {
    const w = 5 + (i % 7), h = 4 + (i % 5);
    const px = noise(w * h * 4, i + 1);
    const f = (x: number, y: number): Px => {
      const k = 4 * (y * w + x);
      return [px[k], px[k + 1], px[k + 2], px[k + 3]];
    };
    const name = `img${String(i).padStart(4, "0")}`;
    if (i % 10 === 3) {
      await writeBytes(
        join(root, `c${i % 3}`, `${name}.jpg`),
        await rgbaImage(w, h, f).encodeJPEG(80),
      );
    } else {
      await writePng(join(root, `c${i % 3}`, `${name}.png`), rgbaImage(w, h, f));
    }
  }
}

function assertSameSet(a: ImageSet, b: ImageSet, what: string) {
  assertEquals(
    [a.length, a.channels, a.height, a.width],
    [b.length, b.channels, b.height, b.width],
    what,
  );
  assertBytes(a.images, b.images, what);
  assertEquals(
    a.labels ? Array.from(a.labels) : null,
    b.labels ? Array.from(b.labels) : null,
    what,
  );
  assertEquals(a.classes, b.classes, what);
}

Deno.test("imageFolder: worker pool decode equals main-thread decode", async () => {
  await using dir = await tempDir();
  await bigFolder(dir.path, 90);
  for (const channels of [1, 3, 4] as const) {
    const opts = { size: [6, 8] as [number, number], channels, ...noCache };
    const main = await imageFolder(dir.path, { ...opts, workers: 0 });
    const pooled = await imageFolder(dir.path, { ...opts, workers: 3 });
    const auto = await imageFolder(dir.path, opts); // 90 > 64 files: pool by default
    assertEquals(main.length, 90);
    assertSameSet(pooled, main, `workers=3, channels=${channels}`);
    assertSameSet(auto, main, `auto workers, channels=${channels}`);
  }
});

// Cross-check the whole pipeline against torchvision's ImageFolder + Resize((h, w)).
let haveTorchvision = false;
try {
  await pythonJson("import json, torchvision, PIL; print(json.dumps(1))");
  haveTorchvision = true;
} catch {
  // not installed: ignored below
}

Deno.test({
  name: "imageFolder: PNG folder bytes equal torchvision ImageFolder + Resize((h, w))" +
    (haveTorchvision ? "" : " (ignored: no python3-torchvision)"),
  ignore: !haveTorchvision,
  fn: async () => {
    await using dir = await tempDir();
    for (let i = 0; i < 12; i++) {
      const w = 9 + 3 * i, h = 31 - 2 * i;
      const px = noise(w * h * 4, 100 + i);
      const f = (x: number, y: number): Px => {
        const k = 4 * (y * w + x);
        return [px[k], px[k + 1], px[k + 2], 255];
      };
      await writePng(
        // Nested folders whose names sort around "/" check the file order.
        join(
          dir.path,
          ["zeta", "Alpha", "beta"][i % 3],
          ["", "a", "a-b", "a/x"][i % 4],
          `i${i}.png`,
        ),
        rgbaImage(w, h, f),
      );
    }
    for (const channels of [1, 3] as const) {
      const ours = await imageFolder(dir.path, { size: [13, 17], channels, ...noCache });
      const ref = await pythonJson<{ classes: string[]; labels: number[]; hex: string }>(
        "import sys, json, torch\nfrom PIL import Image\nfrom torchvision import datasets, transforms\n" +
          "mode = sys.argv[2]\n" +
          "ds = datasets.ImageFolder(sys.argv[1], loader=lambda p: Image.open(p).convert(mode),\n" +
          "  transform=transforms.Compose([transforms.Resize((13, 17)), transforms.PILToTensor()]))\n" +
          "xs = [ds[i] for i in range(len(ds))]\n" +
          "print(json.dumps({'classes': ds.classes, 'labels': [y for _, y in xs],\n" +
          "  'hex': torch.stack([x for x, _ in xs]).numpy().tobytes().hex()}))",
        [dir.path, channels === 1 ? "L" : "RGB"],
      );
      assertEquals(ours.classes, ref.classes);
      assertEquals(Array.from(ours.labels!), ref.labels);
      const refBytes = Uint8Array.from(ref.hex.match(/../g)!.map((x) => parseInt(x, 16)));
      assertBytes(ours.images, refBytes, `channels ${channels}`);
    }
  },
});
