// metrics.jsonl: one line per logged step, the kNN accuracy on the same line
// as the loss of the step it followed, and a reader that merges by step (a
// resumed run replays steps; a crash can cut the last line short).
import { join } from "node:path";
import { assert, assertEquals } from "../helpers/asserts.ts";
import { resolveConfig } from "../../src/train/config.ts";
import { MetricsWriter, parseMetrics, readMetrics } from "../../src/train/metrics.ts";
import { Trainer } from "../../src/train/trainer.ts";
import { runCharts } from "../../src/train/run_plots.ts";

Deno.test("parseMetrics: skips broken lines, merges a step's lines (later fields win), sorted", () => {
  const text = [
    `{"step": 2, "epoch": 0, "loss": 1.5, "tau": 0.99, "lr": 0.1, "imagesPerSec": 5}`,
    `{"step": 1, "epoch": 0, "loss": null, "tau": 0.99, "lr": 0.1, "imagesPerSec": 5}`,
    `not json`,
    `[1, 2]`,
    `{"epoch": 3}`,
    ``,
    `{"step": 2, "knnTop1": 31}`,
    `{"step": 2, "epoch": 0, "loss": 1.25, "tau": 0.99, "lr": 0.1, "imagesPerSec": 6}`,
    `{"step": 3, "epoch": 0, "loss": 1.2, "ta`,
  ].join("\n");
  const recs = parseMetrics(text);
  assertEquals(recs.map((r) => r.step), [1, 2]);
  assert(Number.isNaN(recs[0].loss), "null loss becomes NaN");
  assertEquals([recs[1].loss, recs[1].imagesPerSec, recs[1].knnTop1], [1.25, 6, 31]);
  assertEquals(recs[0].knnTop1, undefined);
});

Deno.test("MetricsWriter ends a line a crash cut short before appending", async () => {
  const dir = await Deno.makeTempDir({ prefix: "byol-metrics-" });
  const path = join(dir, "metrics.jsonl");
  await Deno.writeTextFile(path, `{"step": 1, "loss": 2}\n{"step": 2, "lo`);
  {
    using w = await MetricsWriter.open(path);
    await w.write({ step: 2, epoch: 1, loss: 1.5, tau: 0.99, lr: 0.1, imagesPerSec: 10 });
  }
  const lines = (await Deno.readTextFile(path)).split("\n");
  assertEquals(lines.length, 4); // two whole records, the cut line, and the final newline
  assertEquals((await readMetrics(path)).map((r) => [r.step, r.loss]), [[1, 2], [2, 1.5]]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a real run writes one line per logged step; epoch ends carry loss and kNN; the plots see the last step", async () => {
  const dir = await Deno.makeTempDir({ prefix: "byol-metrics-run-" });
  const t = await Trainer.create(resolveConfig(undefined, {
    limit: 512,
    epochs: 2,
    batchSize: 64,
    width: 8,
    hiddenDim: 64,
    projectionDim: 32,
    logEvery: 3,
    knnEvery: 1,
    evaluate: false,
    checkpointEvery: 0,
    device: "cpu",
    out: dir,
  }));
  await t.run();
  t.dispose();
  const lines = (await Deno.readTextFile(join(dir, "metrics.jsonl"))).trim().split("\n").map((
    l,
  ) => JSON.parse(l));
  // 8 steps an epoch, a line every 3 steps and at each epoch end: 3 6 8 9 12 15 16.
  assertEquals(lines.map((l) => l.step), [3, 6, 8, 9, 12, 15, 16]);
  for (const l of lines) assert(Number.isFinite(l.loss), `loss at step ${l.step}: ${l.loss}`);
  const withKnn = lines.filter((l) => "knnTop1" in l).map((l) => l.step);
  assertEquals(withKnn, [8, 16]);
  const recs = await readMetrics(join(dir, "metrics.jsonl"));
  assertEquals(recs.length, 7);
  const last = recs[recs.length - 1];
  assert(Number.isFinite(last.loss) && Number.isFinite(last.knnTop1!), JSON.stringify(last));
  // The loss chart's polyline reaches the last step.
  const loss = runCharts(recs).get("loss")!;
  assertEquals(recs.filter((r) => Number.isFinite(r.loss)).length, 7);
  assert(loss.includes("<polyline"), "loss chart has a curve");
  await Deno.remove(dir, { recursive: true });
});
