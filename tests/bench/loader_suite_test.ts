// The loader bench suite's set-up (bench/suites/loader.ts, bench/cases/loader.ts):
// `--only loader` names it, the file's size with and without --quick, the file
// laid out as a decode cache's images (4096-byte head, then the images) and
// mapped back byte for byte, and the mapped mode's rows on a tiny file. No
// speed is asserted.
import { assert, assertEquals } from "../helpers/asserts.ts";
import { BENCHMARKS, isBenchmark } from "../../bench/options.ts";
import { imagesFor, loaderParams, STORED } from "../../bench/suites/loader.ts";
import { ensureImageFile, HEAD_BYTES, type LoaderSpeed, run } from "../../bench/cases/loader.ts";
import { mapImages } from "../../src/data/mapped_set.ts";

Deno.test("loader is a benchmark --only takes", () => {
  assert(isBenchmark("loader"));
  assert((BENCHMARKS as readonly string[]).includes("loader"));
});

Deno.test("the loader file is about 1 GiB of 112 px images, 256 MiB with --quick", () => {
  const per = 3 * STORED * STORED;
  const full = loaderParams(false), quick = loaderParams(true);
  assertEquals(full.n, imagesFor(1024));
  assert(full.n * per <= 2 ** 30 && (full.n + 1) * per > 2 ** 30);
  assert(quick.n * per <= 2 ** 28 && (quick.n + 1) * per > 2 ** 28);
  assert(quick.loader.reps <= full.loader.reps);
  assert(quick.step.stepBlocks <= full.step.stepBlocks);
});

Deno.test("ensureImageFile: a 4096-byte head, then the images; mapped back as written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "byol-loader-suite-test-" });
  try {
    const path = `${dir}/images.bin`, n = 37, side = 9;
    await ensureImageFile(path, n, side);
    const bytes = await Deno.readFile(path);
    assertEquals(bytes.length, HEAD_BYTES + n * 3 * side * side);
    assert(bytes.subarray(0, HEAD_BYTES).every((b) => b === 0));
    assert(bytes.subarray(HEAD_BYTES).some((b) => b !== 0));
    const mtime = (await Deno.stat(path)).mtime;
    await ensureImageFile(path, n, side);
    assertEquals((await Deno.stat(path)).mtime, mtime);
    const mapped = mapImages(path, HEAD_BYTES, [n, 3, side, side]);
    assertEquals(mapped, bytes.subarray(HEAD_BYTES));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the mapped mode's rows: in place and through the host stager, whole epochs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "byol-loader-suite-test-" });
  try {
    const r = await run({
      threads: 1,
      warmup: 1,
      reps: 2,
      budgetMs: 1_000,
      mode: "mapped",
      path: `${dir}/images.bin`,
      n: 40,
      side: 8,
      batch: 16,
    });
    const rows = r.rows as LoaderSpeed[];
    const cpu = rows.filter((x) => x.device === "cpu");
    assertEquals(cpu.map((x) => x.placement), ["device", "host"]);
    for (const x of cpu) {
      assertEquals(x.batchesPerEpoch, 2);
      assertEquals(x.epochsMs.length, 2);
      assert(x.ips > 0 && Number.isFinite(x.ips));
    }
    assert(cpu[0].where.includes("placement device"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
