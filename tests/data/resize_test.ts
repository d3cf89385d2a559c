import { resizePlanes } from "../../src/data/mod.ts";
import { python } from "../helpers/python.ts";
import { assertBytes, assertEquals } from "./_assert.ts";
import { noise } from "./_helpers.ts";

/** A checkerboard of `block` x `block` squares of values a and b. */
function checker(h: number, w: number, block: number, a: number, b: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      out[y * w + x] = (Math.floor(y / block) + Math.floor(x / block)) % 2 === 0 ? a : b;
    }
  }
  return out;
}

Deno.test("resize: same size is a copy", () => {
  const src = noise(2 * 5 * 7, 1);
  const out = resizePlanes(src, 2, 5, 7, 5, 7);
  assertBytes(out, src);
  out[0] ^= 1;
  assertEquals(src[0] !== out[0], true); // a copy, not a view
});

Deno.test("resize: a constant image stays constant, down and up, any ratio", () => {
  for (const v of [0, 1, 77, 254, 255]) {
    for (
      const [ih, iw, oh, ow] of [[37, 23, 16, 16], [5, 7, 12, 9], [3, 100, 7, 1], [64, 64, 1, 1]]
    ) {
      for (const aa of [true, false]) {
        const out = resizePlanes(new Uint8Array(ih * iw).fill(v), 1, ih, iw, oh, ow, aa);
        assertEquals(out.length, oh * ow);
        assertBytes(out, new Uint8Array(oh * ow).fill(v), `${v} ${ih}x${iw}->${oh}x${ow} aa=${aa}`);
      }
    }
  }
});

Deno.test("resize: 2x downscale of 2x2 blocks without antialias gives the blocks", () => {
  // Plain bilinear samples at the midpoint of each 2x2 block.
  const src = checker(8, 8, 2, 200, 10);
  const out = resizePlanes(src, 1, 8, 8, 4, 4, false);
  assertBytes(out, checker(4, 4, 1, 200, 10));
});

Deno.test("resize: antialiased 2x downscale matches Pillow's bilinear by hand", () => {
  // One row [255 255 0 0 255 255 0 0] -> 4. Pillow's bilinear triangle is
  // 2 px wide at scale 2; windows clip at the edges and are renormalised:
  //   out0 = (3*255 + 3*255 + 1*0) / 7 = 218.6 -> fixed point 219
  //   out1 = (1*255 + 3*0 + 3*0 + 1*255) / 8 = 63.75 -> 64
  //   out2 = (1*0 + 3*255 + 3*255 + 1*0) / 8 = 191.25 -> 191
  //   out3 = (1*255 + 3*0 + 3*0) / 7 = 36.4 -> 36
  const row = new Uint8Array([255, 255, 0, 0, 255, 255, 0, 0]);
  assertBytes(resizePlanes(row, 1, 1, 8, 1, 4), [219, 64, 191, 36]);
  // Columns go through the same filter (vertical pass).
  assertBytes(resizePlanes(row, 1, 8, 1, 4, 1), [219, 64, 191, 36]);
  // Planes are resized independently.
  const two = new Uint8Array([...row, ...row.map((v) => 255 - v)]);
  assertBytes(resizePlanes(two, 2, 1, 8, 1, 4), [219, 64, 191, 36, 36, 191, 64, 219]);
});

Deno.test("resize: upscaling interpolates between pixel centres and clamps at edges", () => {
  // [0, 100] -> 4: centres at 0.25, 0.75, 1.25, 1.75 in input pixels.
  assertBytes(resizePlanes(new Uint8Array([0, 100]), 1, 1, 2, 1, 4), [0, 25, 75, 100]);
});

// Cross-check against Pillow itself when the reference Python has it.
let havePil = false;
try {
  await python("import PIL");
  havePil = true;
} catch {
  // no Pillow: ignored below
}

Deno.test({
  name: "resize: bytes equal Pillow's Image.resize(BILINEAR)" +
    (havePil ? "" : " (ignored: no python3 with PIL)"),
  ignore: !havePil,
  fn: async () => {
    const cases = [[17, 23, 8, 5], [32, 32, 16, 16], [9, 13, 30, 20], [40, 10, 7, 33], [
      5,
      5,
      5,
      2,
    ]];
    for (const [ih, iw, oh, ow] of cases) {
      const src = noise(ih * iw, ih * 31 + iw);
      const ours = resizePlanes(src, 1, ih, iw, oh, ow);
      const out = await python(
        "import sys; from PIL import Image\n" +
          "ih, iw, oh, ow = map(int, sys.argv[1:5]); data = bytes.fromhex(sys.argv[5])\n" +
          "im = Image.frombytes('L', (iw, ih), data).resize((ow, oh), Image.BILINEAR)\n" +
          "print(im.tobytes().hex())",
        [ih, iw, oh, ow].map(String).concat([
          Array.from(src, (b) => b.toString(16).padStart(2, "0")).join(""),
        ]),
      );
      const pil = Uint8Array.from(out.trim().match(/../g)!.map((h) => parseInt(h, 16)));
      assertBytes(ours, pil, `${ih}x${iw} -> ${oh}x${ow}`);
    }
  },
});
