// Child of mapped_loader_test.ts: walks one epoch of n 3 x 64 x 64 images in
// `path` (at byte 4096) through an ImageLoader on the CPU, the set mapped or
// read into memory ("copy"), and prints how much RssAnon grew from before the
// set was opened to the end of the epoch.
import { ImageLoader } from "../../src/data/loader.ts";
import type { ImageSet } from "../../src/data/image_set.ts";
import { mapImages } from "../../src/data/mapped_set.ts";
import { tidy } from "../../mod.ts";

const [path, nText, mode] = Deno.args;
const n = Number(nText);
const rssAnon = () =>
  Number(Deno.readTextFileSync("/proc/self/status").match(/RssAnon:\s+(\d+)/)![1]) * 1024;

// Warm the allocator and the library with a small walk first, so their
// one-time costs are not counted.
const warm: ImageSet = {
  length: 512,
  channels: 3,
  height: 64,
  width: 64,
  images: new Uint8Array(512 * 3 * 64 * 64),
  labels: null,
  classes: null,
  source: "warm-up",
};
{
  using l = new ImageLoader(warm, { batchSize: 256 });
  for (const b of l.epoch(0)) b.images.dispose();
}
const before = rssAnon();
const images = mode === "copy"
  ? (await Deno.readFile(path)).subarray(4096)
  : mapImages(path, 4096, [n, 3, 64, 64]);
const set: ImageSet = {
  length: n,
  channels: 3,
  height: 64,
  width: 64,
  images,
  labels: null,
  classes: null,
  source: path,
};
using loader = new ImageLoader(set, { batchSize: 256, seed: 1 });
let sum = 0;
for (const b of loader.epoch(0)) {
  // Read every image of the batch (a sum), as a step would.
  sum += tidy(() => b.images.float().sum().item() as number);
  b.images.dispose();
}
console.log(`growth ${Math.max(0, rssAnon() - before)} sum ${sum}`);
