// The trainer over the method seam: --accumulate-grad-batches equals one
// larger batch, SimSiam trains and resumes exactly, the online probe and the
// method's metrics reach metrics.jsonl, and a method's recipe is applied.
import { join } from "node:path";
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { cat, manualSeed, noGrad, setNumThreads } from "../../mod.ts";
import { resolveConfig, type TrainConfig } from "../../src/train/config.ts";
import { buildRun, disposeRun, prepareData } from "../../src/train/run.ts";
import { trainStep } from "../../src/train/step.ts";
import { RunFolder } from "../../src/train/run_folder.ts";
import { Trainer } from "../../src/train/trainer.ts";
import { loadCheckpoint, resolveCheckpointDir } from "../../src/train/checkpoint.ts";
import { readMetrics } from "../../src/train/metrics.ts";
import { assertNormClose } from "../helpers/assert.ts";
import { losses, runTiny, TINY as SMALL } from "../helpers/tiny_run.ts";
import { findTensorboardPython, runPythonJson } from "../helpers/tensorboard_python.ts";

setNumThreads(navigator.hardwareConcurrency || 2);

const TINY: Partial<TrainConfig> = { ...SMALL, predictorDim: 16 };

for (const method of ["byol", "simsiam"] as const) {
  Deno.test(`--accumulate-grad-batches 2 of 8 images is one step of 16 (${method}, BatchNorm in eval mode)`, async () => {
    // BatchNorm's batch statistics are per forward, so they differ by design;
    // with every BatchNorm in eval mode each image's loss is its own, and the
    // step's loss and gradients (so SGD's update) must equal the larger batch's.
    const base = resolveConfig(undefined, {
      ...TINY,
      method,
      limit: 64,
      optimizer: "sgd",
      lr: 0.1,
      warmupEpochs: 0, // step 0's lr is the peak's, not warm-up's 0
      onlineProbe: "off",
    });
    const { cfg, data } = await prepareData(base);
    const build = (batchSize: number, accumulateGradBatches: number) => {
      manualSeed(3);
      const run = buildRun({ ...cfg, batchSize, accumulateGradBatches }, data, "cpu");
      run.method.eval();
      return run;
    };
    const small = build(8, 2);
    const large = build(16, 1);
    assertEquals(small.schedule.stepsPerEpoch, large.schedule.stepsPerEpoch);
    const before = noGrad(() =>
      Object.fromEntries(small.method.namedParameters().map(([k, p]) => [k, p.clone()]))
    );
    const a = trainStep(small, 0, true);
    const b = trainStep(large, 0, true);
    assert(
      Math.abs(a.loss - b.loss) <= 1e-6 * Math.max(1, Math.abs(b.loss)),
      `${a.loss} vs ${b.loss}`,
    );
    // SGD's first update is -lr x the gradient: compare the updates themselves
    // (the weights are far larger than one step's change).
    // Normwise over all updates at once: a per-tensor gradient that is a sum
    // with heavy cancellation (a BatchNorm weight's over 16 x 784 positions)
    // has no relative scale of its own, and summing 8 + 8 rounds otherwise than 16.
    const pb = Object.fromEntries(large.method.namedParameters());
    noGrad(() => {
      const da = small.method.namedParameters().map(([k, p]) => p.sub(before[k]).flatten());
      const db = small.method.namedParameters().map(([k]) => pb[k].sub(before[k]).flatten());
      const ua = cat(da, 0);
      const ub = cat(db, 0);
      assert(ub.abs().max().item() > 0, "the step changed the weights");
      assertNormClose(ua, ub, 1e-5, "the updates");
    });
    for (const t of Object.values(before)) t.dispose();
    // The generator advanced as for one batch of 16: the next step's views agree too.
    const a2 = trainStep(small, 1, true);
    const b2 = trainStep(large, 1, true);
    assert(
      Math.abs(a2.loss - b2.loss) <= 1e-5 * Math.max(1, Math.abs(b2.loss)),
      `${a2.loss} vs ${b2.loss}`,
    );
    disposeRun(small);
    disposeRun(large);
  });
}

Deno.test("--accumulate-grad-batches larger than an epoch's batches: one line with the fix", async () => {
  const base = resolveConfig(undefined, { ...TINY, limit: 64, accumulateGradBatches: 3 });
  const { cfg, data } = await prepareData({ ...base, batchSize: 32 });
  const e = assertThrows(() => buildRun(cfg, data, "cpu"));
  assert(/--accumulate-grad-batches 3 needs/.test(e.message), e.message);
});

Deno.test("a method's recipe replaces the preset's heads, and SGD or LARS by the paper's SGD; flags still win", () => {
  // Over an AdamW preset (the default): SimSiam's heads, the preset's optimizer.
  const ss = resolveConfig(undefined, { method: "simsiam" });
  assertEquals(
    [ss.optimizer, ss.lr, ss.projectionDim, ss.hiddenDim, ss.predictorDim],
    ["adamw", 1e-3, 2048, 2048, 512],
  );
  // Over a LARS preset: the paper's SGD, lr 0.05 x batch / 256, of the batch the run will have.
  const cifar = resolveConfig(undefined, { method: "simsiam", preset: "cifar10-resnet18" });
  assertEquals(
    [cifar.optimizer, cifar.lr, cifar.weightDecay, cifar.warmupEpochs],
    ["sgd", 0.05, 1e-4, 0],
  );
  const big = { method: "simsiam", preset: "cifar10-resnet18", batchSize: 512 };
  assertEquals(resolveConfig(undefined, big).lr, 0.1);
  assertEquals(
    resolveConfig(undefined, { method: "simsiam", optimizer: "sgd" }).lr,
    0.05 * 64 / 256,
  );
  assertEquals(resolveConfig(undefined, { ...big, lr: 0.3 }).lr, 0.3);
  // BYOL keeps the preset's values.
  const byol = resolveConfig(undefined, {});
  assertEquals([byol.method, byol.optimizer, byol.projectionDim], ["byol", "adamw", 256]);
  assertThrows(
    () => resolveConfig(undefined, { method: "moco" }),
    Error,
    "--method must be one of",
  );
});

Deno.test("--logger: jsonl always, names checked", () => {
  assertEquals(resolveConfig(undefined, {}).logger, "jsonl");
  assertEquals(resolveConfig(undefined, { logger: "tensorboard" }).logger, "jsonl,tensorboard");
  assertThrows(
    () => resolveConfig(undefined, { logger: "wandb" }),
    Error,
    "--logger takes a comma-separated list of jsonl, tensorboard",
  );
});

Deno.test("SimSiam with the online probe and 2 accumulated batches: resume is exact", async () => {
  const a = await Deno.makeTempDir({ prefix: "simsiam-a-" });
  const b = await Deno.makeTempDir({ prefix: "simsiam-b-" });
  try {
    const cfg = { method: "simsiam", batchSize: 32, accumulateGradBatches: 2 } as const;
    (await runTiny({ ...cfg, out: a })).dispose();
    const stopped = await runTiny({ ...cfg, out: b }, 5);
    stopped.dispose();
    const ck = await loadCheckpoint(await resolveCheckpointDir(b));
    assertEquals(ck.meta.step, 5);
    const keys = Object.keys(ck.tensors);
    assert(keys.some((k) => k.startsWith("online.predictor.")), "SimSiam's keys");
    assert(!keys.some((k) => k.startsWith("target.")), "no target network");
    assert(keys.some((k) => k.startsWith("probe.")), "the online probe's classifier");
    const folder = new RunFolder(b);
    const resumed = await Trainer.create(await folder.readConfig(), { resumeFrom: ck, folder });
    await resumed.run();
    resumed.dispose();
    const la = losses(a);
    const lb = losses(b);
    assertEquals(la.size, 16);
    for (const [step, loss] of la) assertEquals(lb.get(step), loss, `loss at step ${step}`);
    // The method's record: no tau; the online probe's loss; the loss in SimSiam's [-1, 1].
    const recs = await readMetrics(join(a, "metrics.jsonl"));
    assert(recs.every((r) => r.tau === undefined), "SimSiam has no tau");
    assert(recs.every((r) => Number.isFinite(r.probeLoss)), "probeLoss logged");
    assert(recs.every((r) => r.loss >= -1 && r.loss <= 1), "loss in [-1, 1]");
    const probeLosses = recs.map((r) => r.probeLoss!);
    assertEquals(lb.size, la.size);
    assert(probeLosses.at(-1)! < probeLosses[0], `the probe learns: ${probeLosses}`);
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

const TB = await findTensorboardPython();

Deno.test({
  name:
    "--logger tensorboard: TensorBoard reads the run's scalars and the views grid; a resume adds a file" +
    (TB.python === undefined ? " (ignored: no python with tensorboard)" : ""),
  ignore: TB.python === undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "byol-tb-run-" });
    try {
      const cfg = { logger: "tensorboard", epochs: 1, knnEvery: 1, out: dir } as const;
      (await runTiny(cfg, 4)).dispose();
      const folder = new RunFolder(dir);
      const ck = await loadCheckpoint(await resolveCheckpointDir(dir));
      const resumed = await Trainer.create(await folder.readConfig(), { resumeFrom: ck, folder });
      await resumed.run();
      resumed.dispose();
      const got = await runPythonJson<Record<string, unknown>>(
        TB.python!,
        `import sys, json, os
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
d = sys.argv[1]
acc = EventAccumulator(d, size_guidance={"scalars": 0, "images": 0})
acc.Reload()
tags = acc.Tags()
out = {"files": len([f for f in os.listdir(d) if "tfevents" in f]), "scalars": sorted(tags["scalars"]), "images": sorted(tags["images"])}
for t in ["train/loss", "train/tau", "monitor/knn_top1", "monitor/probe_top1"]:
    out[t] = [[e.step, e.value] for e in acc.Scalars(t)]
im = acc.Images("views/augmented")[0]
out["image"] = [im.width, im.height, len(im.encoded_image_string)]
print(json.dumps(out))`,
        [join(dir, "tensorboard")],
      );
      assertEquals(got.files, 2, "a resumed run writes a second event file");
      for (const tag of ["train/loss", "train/lr", "train/tau", "perf/images_per_sec"]) {
        assert((got.scalars as string[]).includes(tag), `${tag} in ${got.scalars}`);
      }
      // Each step once, with the loss of metrics.jsonl, across the two files.
      const want = await readMetrics(join(dir, "metrics.jsonl"));
      const loss = got["train/loss"] as [number, number][];
      assertEquals(loss.map(([s]) => s), want.map((r) => r.step));
      loss.forEach(([s, v], i) => {
        assert(Math.abs(v - want[i].loss) <= 1e-6 * Math.abs(want[i].loss), `step ${s}`);
      });
      const knn = got["monitor/knn_top1"] as [number, number][];
      assertEquals(knn.length, 1);
      assertEquals(knn[0][1], Math.fround(want.at(-1)!.knnTop1!));
      assertEquals((got["monitor/probe_top1"] as unknown[]).length, 1);
      const [w, h, bytes] = got.image as number[];
      assert(w > 0 && h > 0 && bytes > 100, `image ${got.image}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("--online-probe images: the probe learns from the unaugmented images; the method's losses are the same as with views", async () => {
  const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    const modes = ["views", "images"] as const;
    for (const [i, onlineProbe] of modes.entries()) {
      (await runTiny({ onlineProbe, maxSteps: 4, out: dirs[i] })).dispose();
    }
    const [a, b] = await Promise.all(dirs.map((d) => readMetrics(join(d, "metrics.jsonl"))));
    assertEquals(a.map((r) => r.loss), b.map((r) => r.loss), "the probe never touches the method");
    for (const recs of [a, b]) assert(recs.every((r) => Number.isFinite(r.probeLoss)));
    assert(a.some((r, i) => r.probeLoss !== b[i].probeLoss), "the two probes see other features");
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});
