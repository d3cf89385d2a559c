// --deterministic on CUDA: two runs of one seed give equal losses, and a run
// stopped and resumed (in process, and by a real SIGINT) gives the losses of
// an uninterrupted one, in float32 and in bf16-mixed. Skipped (ignored) where
// no GPU is visible; scripts/gpu_check.sh runs it on a GPU machine.
import { join } from "node:path";
import { assert, assertEquals } from "../helpers/asserts.ts";
import { cuda } from "../../mod.ts";
import { resolveConfig, type TrainConfig } from "../../src/train/config.ts";
import { loadCheckpoint, resolveCheckpointDir } from "../../src/train/checkpoint.ts";
import { readMetrics } from "../../src/train/metrics.ts";
import { RunFolder } from "../../src/train/run_folder.ts";
import { Trainer } from "../../src/train/trainer.ts";

const ignore = !cuda.isAvailable();
const ROOT = new URL("../../", import.meta.url).pathname;

const TINY: Partial<TrainConfig> = {
  device: "cuda",
  deterministic: true,
  limit: 1024,
  epochs: 2,
  batchSize: 128,
  width: 16,
  hiddenDim: 128,
  projectionDim: 64,
  logEvery: 1,
  // The kNN monitor too (its top-k and scatter-add on the GPU under deterministic algorithms).
  knnEvery: 1,
  evaluate: false,
  checkpointEvery: 3,
};

/** A metric per logged step, through the metrics reader (lines merged by step). */
async function losses(
  runDir: string,
  field: "loss" | "knnTop1" = "loss",
): Promise<Map<number, number>> {
  const m = new Map<number, number>();
  for (const r of await readMetrics(join(runDir, "metrics.jsonl"))) {
    const v = r[field];
    if (typeof v === "number") m.set(r.step, v);
  }
  return m;
}

async function run(cfg: Partial<TrainConfig>, stopAfter = 0): Promise<Trainer> {
  const t = await Trainer.create(resolveConfig(undefined, { ...TINY, ...cfg }));
  await t.run({
    onLog: (m) => {
      if (stopAfter > 0 && m.step >= stopAfter) t.requestStop();
    },
  });
  return t;
}

for (const precision of ["32", "bf16-mixed"] as const) {
  Deno.test({
    name:
      `CUDA --deterministic (${precision}): two runs agree, and a resumed run equals an uninterrupted one`,
    ignore,
    fn: async () => {
      const [a, b, c] = await Promise.all(
        [0, 1, 2].map(() => Deno.makeTempDir({ prefix: "byol-cuda-det-" })),
      );
      (await run({ precision, out: a })).dispose();
      (await run({ precision, out: b })).dispose();
      const stopped = await run({ precision, out: c }, 5);
      assertEquals(stopped.step, 5);
      stopped.dispose();
      const ck = await loadCheckpoint(await resolveCheckpointDir(c));
      const folder = new RunFolder(c);
      const resumed = await Trainer.create(await folder.readConfig(), { resumeFrom: ck, folder });
      await resumed.run();
      resumed.dispose();
      const [la, lb, lc] = await Promise.all([losses(a), losses(b), losses(c)]);
      assertEquals(la.size, 16);
      for (const [step, loss] of la) {
        assertEquals(lb.get(step), loss, `second run, loss at step ${step}`);
        assertEquals(lc.get(step), loss, `resumed run, loss at step ${step}`);
      }
      const [ka, kb] = await Promise.all([losses(a, "knnTop1"), losses(b, "knnTop1")]);
      assertEquals(ka.size, 2, "a kNN check at each of the 2 epochs");
      assertEquals(kb, ka, "the kNN monitor's accuracies");
      for (const d of [a, b, c]) await Deno.remove(d, { recursive: true });
    },
  });
}

Deno.test({
  name:
    "CUDA --deterministic: a real SIGINT checkpoints; the resumed run equals an uninterrupted one",
  ignore,
  fn: async () => {
    const a = await Deno.makeTempDir({ prefix: "byol-cuda-sig-a-" });
    const b = await Deno.makeTempDir({ prefix: "byol-cuda-sig-b-" });
    const flags = [
      "--device",
      "cuda",
      "--deterministic",
      "--precision",
      "32",
      "--limit",
      "1024",
      "--epochs",
      "400",
      "--batch-size",
      "128",
      "--width",
      "16",
      "--hidden-dim",
      "128",
      "--projection-dim",
      "64",
      "--log-every",
      "1",
      "--knn-every",
      "0",
      "--no-evaluate",
    ]; // deno-fmt-ignore
    const train = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", join(ROOT, "scripts/train.ts"), ...args],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      });
    const child = train([...flags, "--out", b]).spawn();
    for (let i = 0; i < 3000; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const text = await Deno.readTextFile(join(b, "metrics.jsonl")).catch(() => "");
      if (text.split("\n").filter((l) => l.trim()).length >= 3) break;
    }
    child.kill("SIGINT");
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 130, stderr);
    const stoppedAt = (await loadCheckpoint(await resolveCheckpointDir(b))).meta.step;
    assert(stoppedAt >= 3, `stopped at ${stoppedAt}`);
    const end = String(stoppedAt + 4);
    const resumed = await train(["--resume", b, "--max-steps", end]).output();
    assertEquals(resumed.code, 0, new TextDecoder().decode(resumed.stderr));
    const whole = await train([...flags, "--max-steps", end, "--out", a]).output();
    assertEquals(whole.code, 0, new TextDecoder().decode(whole.stderr));
    const [la, lb] = await Promise.all([losses(a), losses(b)]);
    assertEquals(la.size, stoppedAt + 4);
    for (const [step, loss] of la) assertEquals(lb.get(step), loss, `loss at step ${step}`);
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  },
});
