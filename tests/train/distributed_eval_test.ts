// The kNN monitor and the final evaluation on 2 ranks: each rank extracts its
// share of the features (an odd bank, so one share is padded for the
// all-gather), rank 0 scores and writes. The random-init encoder's scores, on
// identical weights, equal a 1-rank run's; the trained encoder's are within
// a few queries (its weights agree within the run's float tolerance).
import { join } from "node:path";
import { assert, assertEquals } from "../helpers/asserts.ts";
import { TINY, train } from "./_distributed.ts";
import { Image } from "../../deps/imagescript.ts";

const ARGS = [
  ...TINY.filter((a, i, all) =>
    a !== "--no-evaluate" && all[i - 1] !== "--knn-every" &&
    a !== "--knn-every"
  ),
  "--knn-every",
  "1",
  "--limit",
  "255",
  "--epochs",
  "1",
];

Deno.test("kNN monitor and final evaluation sharded over 2 ranks: a 1-rank run's scores", async () => {
  const root = await Deno.makeTempDir({ prefix: "byol-dist-" });
  try {
    const one = await train([...ARGS, "--out", join(root, "one")], { deadlineMs: 80_000 }).done();
    assertEquals(one.code, 0, one.stderr);
    const two = await train(["--nproc-per-node", "2", ...ARGS, "--out", join(root, "two")], {
      deadlineMs: 80_000,
    }).done();
    assertEquals(two.code, 0, two.stderr);
    // One table, printed by rank 0.
    assertEquals((two.stdout.match(/\| random init/g) ?? []).length, 1, two.stdout);
    assertEquals((two.stdout.match(/\| raw pixels/g) ?? []).length, 1, two.stdout);
    const ev = (d: string) => JSON.parse(Deno.readTextFileSync(join(root, d, "eval.json")));
    const [a, b] = [ev("one"), ev("two")];
    for (const m of ["knn20", "knn200", "probeTop1", "probeTop5"]) {
      assertEquals(b.randomInit[m], a.randomInit[m], `random init ${m}`);
      assertEquals(b.rawPixels[m], a.rawPixels[m], `raw pixels ${m}`);
      // 10000 test images: 0.3 points are 30 queries.
      assert(
        Math.abs(b.trained[m] - a.trained[m]) <= 0.3,
        `trained ${m}: ${b.trained[m]} vs ${a.trained[m]}`,
      );
    }
    const knn = (d: string) =>
      Deno.readTextFileSync(join(root, d, "metrics.jsonl")).trim().split("\n").map((l) =>
        JSON.parse(l)
      ).filter((r) => typeof r.knnTop1 === "number").map((r) => r.knnTop1);
    const [k1, k2] = [knn("one"), knn("two")];
    assertEquals(k2.length, 1);
    assert(Math.abs(k2[0] - k1[0]) <= 0.3, `kNN monitor: ${k2} vs ${k1}`);
    // The online probe, scored on the same test features by rank 0 alone, and
    // the embedding picture, written once, listed with the plots.
    const [o1, o2] = [a.trained.onlineProbeTop1, b.trained.onlineProbeTop1];
    assert(typeof o1 === "number" && o1 >= 0 && o1 <= 100, `online probe ${o1}`);
    assert(Math.abs(o2 - o1) <= 0.3, `online probe: ${o2} (2 ranks) vs ${o1}`);
    for (const [d, r] of [["one", one], ["two", two]] as const) {
      const png = await Image.decode(await Deno.readFile(join(root, d, "plots", "embedding.png")));
      assert(png.width > 100 && png.height > 100, `${d}: embedding.png ${png.width}x${png.height}`);
      assert(/plots: .*embedding\.png/.test(r.stdout), r.stdout);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
