// centreCrop (monitor.ts): the evaluation's view of images stored larger than
// it, as torchvision's CenterCrop takes it (Python's round, halves to even).
import { assertEquals } from "../helpers/asserts.ts";
import { pythonJson } from "../helpers/python.ts";
import { arange, tidy } from "../../mod.ts";
import { centreCrop } from "../../src/train/monitor.ts";

const CASES: [number, number, number, number][] = [
  // [height, width, crop height, crop width]
  [9, 9, 6, 6], // odd difference 3: round(1.5) = 2
  [11, 11, 6, 6], // odd difference 5: round(2.5) = 2
  [13, 10, 6, 7], // 3.5 -> 4 and 1.5 -> 2
  [256, 256, 224, 224],
  [8, 8, 8, 8], // nothing to crop
  [6, 9, 8, 5], // larger than the image in one side: that side kept
];

function ours(h: number, w: number, ch: number, cw: number): number[] {
  return tidy(() => {
    const x = arange(2 * h * w).reshape([1, 2, h, w]);
    return Array.from(
      centreCrop(x, [ch, cw]).contiguous().toTypedArray() as Float32Array,
      Number,
    );
  });
}

Deno.test("centreCrop takes torchvision's CenterCrop window (top and left by Python's round)", () => {
  const top = (d: number) => Math.max(0, [0, 0, 1, 2, 2, 2, 3, 4][d] ?? Math.round(d / 2));
  for (const [h, w, ch, cw] of CASES) {
    const th = Math.min(ch, h), tw = Math.min(cw, w);
    const t0 = top(h - th), l0 = top(w - tw);
    const want: number[] = [];
    for (let c = 0; c < 2; c++) {
      for (let y = 0; y < th; y++) {
        for (let x = 0; x < tw; x++) want.push(c * h * w + (t0 + y) * w + l0 + x);
      }
    }
    assertEquals(ours(h, w, ch, cw), want, `${h}x${w} -> ${ch}x${cw}`);
  }
});

Deno.test("centreCrop equals torchvision's center_crop on the same tensor", async () => {
  const code = `
import json, sys, torch
import torchvision.transforms.functional as F
out = []
for h, w, ch, cw in json.loads(sys.argv[1]):
    x = torch.arange(2 * h * w, dtype=torch.float32).reshape(1, 2, h, w)
    if ch > h or cw > w:
        out.append(None)  # torchvision pads there; centreCrop keeps the side
    else:
        out.append(F.center_crop(x, [ch, cw]).flatten().tolist())
print(json.dumps(out))`;
  let ref: (number[] | null)[];
  try {
    ref = await pythonJson<(number[] | null)[]>(code, [JSON.stringify(CASES)]);
  } catch (e) {
    // No torchvision in the reference Python: the closed-form test above stands.
    if (!/No module named/.test((e as Error).message)) throw e;
    console.log(`skipped: ${(e as Error).message.split("\n")[0]}`);
    return;
  }
  CASES.forEach(([h, w, ch, cw], i) => {
    if (ref[i] !== null) assertEquals(ours(h, w, ch, cw), ref[i], `${h}x${w} -> ${ch}x${cw}`);
  });
});
