// Writes a PNG grid of augmented views, to check a preset by eye: one row per
// image, columns original / view 1 / view 2 (de-normalised, upscaled).
// Usage: deno task preview [--data fashion-mnist|cifar-folder|FOLDER] [--preset NAME]
//        [--count 8] [--seed 0] [--out preview.png]
import { Command, InvalidArgumentError } from "../deps/commander.ts";
import { Image } from "../deps/imagescript.ts";
import { Generator } from "../ffi/generator.ts";
import { manualSeed } from "../ffi/runtime.ts";
import { tensor } from "../ffi/creation.ts";
import { interpolate } from "../ffi/functional.ts";
import { tidy } from "../ffi/memory.ts";
import type { Tensor } from "../ffi/tensor.ts";
import { fashionMnist } from "../src/data/idx.ts";
import { imageFolder } from "../src/data/image_folder.ts";
import { type ImageSet, subset } from "../src/data/image_set.ts";
import { ImageLoader } from "../src/data/loader.ts";
import { makeAugment, PRESET_NAMES, type PresetName, sizePair } from "../src/augment/mod.ts";

function intIn(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer in ${min}..${max}`);
    }
    return n;
  };
}

const program = new Command()
  .name("deno task preview")
  .description(
    "a PNG grid of augmented views (columns: original, view 1, view 2), to check a preset by eye",
  )
  .option("--data <name|dir>", "fashion-mnist or an image folder", "fashion-mnist")
  .option(
    "--preset <name>",
    `${PRESET_NAMES.join(" | ")} (default: fashion-mnist for Fashion-MNIST, paper for folders)`,
  )
  .option("--count <n>", "images (rows), 1..64", intIn(1, 64), 8)
  .option("--seed <n>", "seed of the image choice and of the views", intIn(0, 2 ** 31), 0)
  .option("--out <file>", "PNG to write", "preview.png")
  .showHelpAfterError();
program.parse(["deno", "preview", ...Deno.args]);
const values = program.opts();

function fail(msg: string): never {
  console.error(`preview: ${msg}`);
  Deno.exit(2);
}

const { count, seed } = values;
const isFashion = values.data === "fashion-mnist";
const preset = (values.preset ?? (isFashion ? "fashion-mnist" : "paper")) as PresetName;
if (!PRESET_NAMES.includes(preset)) fail(`unknown preset "${values.preset}"`);
const aug = makeAugment(preset);
const [outH, outW] = sizePair(aug.config.view1.size);

let set: ImageSet;
if (isFashion) {
  set = await fashionMnist({ split: "train" });
} else {
  // Decode a little larger than the crops, as Resize(256) before 224 crops.
  const size: [number, number] = [Math.round(outH * 8 / 7), Math.round(outW * 8 / 7)];
  const channels = aug.config.view1.mean.length === 1 ? 1 : 3;
  set = await imageFolder(values.data, { size, channels });
}
if (set.channels !== aug.config.view1.mean.length) {
  fail(
    `preset ${preset} expects ${aug.config.view1.mean.length} channel(s), data has ${set.channels}`,
  );
}

manualSeed(seed);
using loader = new ImageLoader(subset(set, Math.max(count, Math.min(set.length, 4096))), {
  batchSize: Math.min(count, set.length),
  seed,
});
using gen = new Generator(seed);
const { images } = loader.batch(0, 0);
const n = images.size(0);
const c = images.size(1);

/** De-normalised views and the resized original as uint8 (N, C, outH, outW). */
const columns: Uint8Array[] = tidy(() => {
  const [v1, v2] = aug.twoViews(images, gen);
  const denorm = (v: Tensor, mean: number[], std: number[]) => {
    const opts = { shape: [1, c, 1, 1] };
    return v.mul(tensor(new Float32Array(std), opts)).add(tensor(new Float32Array(mean), opts));
  };
  const original = interpolate(images.float().div(255), [outH, outW], {
    mode: "bilinear",
    antialias: true,
  });
  const { view1, view2 } = aug.config;
  return [original, denorm(v1, view1.mean, view1.std), denorm(v2, view2.mean, view2.std)].map(
    (t) => t.mul(255).round().clamp({ min: 0, max: 255 }).to({ dtype: "uint8" }).toBytes(),
  );
});
images.dispose();

// Nearest-neighbour upscale to at least 96 px per cell, with a 4 px gutter.
const zoom = Math.max(1, Math.ceil(96 / Math.max(outH, outW)));
const gap = 4;
const cellW = outW * zoom;
const cellH = outH * zoom;
const W = 3 * cellW + 4 * gap;
const H = n * cellH + (n + 1) * gap;
const img = new Image(W, H);
img.fill(0x202020ff);
const rgba = img.bitmap;
const plane = outH * outW;
for (let row = 0; row < n; row++) {
  for (let col = 0; col < 3; col++) {
    const src = columns[col];
    const x0 = gap + col * (cellW + gap);
    const y0 = gap + row * (cellH + gap);
    for (let y = 0; y < cellH; y++) {
      const sy = Math.floor(y / zoom);
      for (let x = 0; x < cellW; x++) {
        const sx = Math.floor(x / zoom);
        const base = row * c * plane + sy * outW + sx;
        const o = ((y0 + y) * W + x0 + x) * 4;
        for (let k = 0; k < 3; k++) rgba[o + k] = src[base + (c === 3 ? k : 0) * plane];
        rgba[o + 3] = 255;
      }
    }
  }
}
await Deno.writeFile(values.out, await img.encode());
console.log(
  `wrote ${values.out}: ${n} images from ${set.source}, preset ${preset}, seed ${seed} ` +
    `(columns: original, view 1, view 2)`,
);
