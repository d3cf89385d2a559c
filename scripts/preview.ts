// Writes a PNG grid of augmented views, to check a preset by eye: one row per
// image, columns original / view 1 / view 2 (de-normalised, upscaled).
// Usage: deno task preview [--data fashion-mnist|cifar-folder|FOLDER] [--preset NAME]
//        [--count 8] [--seed 0] [--out preview.png]
import { Command, InvalidArgumentError } from "../deps/commander.ts";
import { Generator } from "../ffi/generator.ts";
import { manualSeed } from "../ffi/runtime.ts";
import { fashionMnist } from "../src/data/idx.ts";
import { imageFolder } from "../src/data/image_folder.ts";
import { type ImageSet, subset } from "../src/data/image_set.ts";
import { ImageLoader } from "../src/data/loader.ts";
import { makeAugment, PRESET_NAMES, type PresetName, sizePair } from "../src/augment/mod.ts";
import { viewsGrid, viewsGridPng } from "../src/augment/views_grid.ts";

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
const grid = viewsGrid(images, aug, gen);
images.dispose();
await Deno.writeFile(values.out, await viewsGridPng(grid));
console.log(
  `wrote ${values.out}: ${n} images from ${set.source}, preset ${preset}, seed ${seed} ` +
    `(columns: original, view 1, view 2)`,
);
