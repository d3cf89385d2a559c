// A run on a folder of images goes through the decode cache and trains on
// its mapping; the same images held in memory (Fashion-MNIST's IDX files)
// give the same losses, bit for bit: mapping changes where the bytes live,
// not what the run sees.
import { join } from "node:path";
import { assert, assertEquals } from "../helpers/asserts.ts";
import { encodePng } from "../data/_helpers.ts";
import { fashionMnist } from "../../src/data/idx.ts";
import { imageAt, subset } from "../../src/data/image_set.ts";
import { isMapped } from "../../src/data/mapped_set.ts";
import { losses, runTiny } from "../helpers/tiny_run.ts";

Deno.test("a run on a mapped decode cache has the losses of the same images in memory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "byol-mapped-run-" });
  const oldCache = Deno.env.get("BYOL_CACHE_DIR");
  try {
    // The first 512 Fashion-MNIST training images as gray PNGs (lossless), in
    // the data set's order (an unlabeled folder is read in file-name order).
    const fm = subset(await fashionMnist({ split: "train" }), 512);
    await Deno.mkdir(join(dir, "images"));
    for (let i = 0; i < fm.length; i++) {
      const name = join(dir, "images", `${String(i).padStart(5, "0")}.png`);
      await Deno.writeFile(name, encodePng(28, 28, 0, imageAt(fm, i)));
    }
    Deno.env.set("BYOL_CACHE_DIR", join(dir, "cache"));
    const common = { onlineProbe: "off" as const, limit: 512 };
    const mapped = await runTiny({
      ...common,
      data: join(dir, "images"),
      out: join(dir, "mapped"),
    });
    assert(isMapped(mapped.parts.data.train), "the folder's images are not mapped");
    assertEquals(
      [mapped.cfg.channels, mapped.cfg.imageSize, mapped.cfg.storedSize, mapped.cfg.augment],
      [1, 28, 28, "fashion-mnist"],
    );
    const memory = await runTiny({ ...common, data: "fashion-mnist", out: join(dir, "memory") });
    assert(!isMapped(memory.parts.data.train));
    const a = losses(join(dir, "mapped")), b = losses(join(dir, "memory"));
    assertEquals(a.size, 16);
    assertEquals([...a.entries()], [...b.entries()]);
  } finally {
    if (oldCache === undefined) Deno.env.delete("BYOL_CACHE_DIR");
    else Deno.env.set("BYOL_CACHE_DIR", oldCache);
    await Deno.remove(dir, { recursive: true });
  }
});
