// Crash consistency: the trainer killed with SIGKILL at ten moments (some in
// the middle of a checkpoint write) always resumes from its newest complete
// checkpoint and computes the losses of an uninterrupted run; a full or
// read-only run folder ends the run with one clear line and leaves the last
// checkpoint loadable.
import { join } from "node:path";
import { assert, assertEquals } from "../helpers/asserts.ts";
import { loadCheckpoint, resolveCheckpointDir } from "../../src/train/checkpoint.ts";
import { readMetrics } from "../../src/train/metrics.ts";
import { cuda } from "../../mod.ts";
import { canMount, mountTmpfs, umount } from "../helpers/tmpfs.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TRAIN = join(ROOT, "scripts/train.ts");
// 256 images, batch 32: 8 steps an epoch, 16 in all; a checkpoint after every step.
const BASE = [
  "--limit",
  "256",
  "--epochs",
  "2",
  "--batch-size",
  "32",
  "--width",
  "8",
  "--hidden-dim",
  "32",
  "--projection-dim",
  "16",
  "--log-every",
  "1",
  "--knn-every",
  "0",
  "--checkpoint-every",
  "1",
  "--no-evaluate",
  "--precision", // runs compared step by step must not each pick by timing
  "32",
  "--threads",
  "1",
]; // deno-fmt-ignore
// And the device named, never auto: on a GPU two runs of one seed differ unless deterministic.
const TINY = [...BASE, "--device", "cpu"];
// On CUDA the same holds with --deterministic (tests/cuda/determinism_test.ts has the rest).
const TINY_CUDA = [...BASE, "--device", "cuda", "--deterministic"];
const hasCuda = cuda.isAvailable();

function spawn(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TRAIN, ...args],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

async function finish(args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await spawn(args).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

async function losses(runDir: string): Promise<Map<number, number>> {
  return new Map((await readMetrics(join(runDir, "metrics.jsonl"))).map((r) => [r.step, r.loss]));
}

async function checkpointSteps(runDir: string): Promise<number> {
  let n = 0;
  try {
    for await (const e of Deno.readDir(join(runDir, "checkpoints"))) {
      if (e.name.startsWith("step-")) n++;
    }
  } catch { /* not there yet */ }
  return n;
}

/** Whether a checkpoint folder is being written (its temp folder exists). */
async function writing(runDir: string): Promise<boolean> {
  try {
    for await (const e of Deno.readDir(join(runDir, "checkpoints"))) {
      if (e.name.includes(".tmp-")) return true;
    }
  } catch { /* not there yet */ }
  return false;
}

/** A small deterministic PRNG (mulberry32) for the kill moments. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function killNineTimes(tiny: string[], kills = 10): Promise<void> {
  const ref = await Deno.makeTempDir({ prefix: "byol-crash-ref-" });
  const run = await Deno.makeTempDir({ prefix: "byol-crash-" });
  try {
    const done = await finish([...tiny, "--out", ref]);
    assertEquals(done.code, 0, done.stderr);
    const want = await losses(ref);
    assertEquals(want.size, 16);

    const random = rng(7);
    let lastStep = 0;
    let killsInWrite = 0;
    for (let kill = 0; kill < kills; kill++) {
      const started = await Deno.stat(join(run, "checkpoints")).then(() => true, () => false);
      const child = spawn(started ? ["--resume", run, "--threads", "1"] : [...tiny, "--out", run]);
      // Odd kills aim inside a checkpoint write (a temp folder is there); even
      // ones land 0-40 ms after a new checkpoint appeared, mostly mid-step.
      const before = await checkpointSteps(run);
      const deadline = Date.now() + 120_000;
      if (kill % 2 === 1) {
        while (Date.now() < deadline && !(await writing(run))) {
          await new Promise((r) => setTimeout(r, 1));
        }
      } else {
        while (Date.now() < deadline && (await checkpointSteps(run)) <= before) {
          await new Promise((r) => setTimeout(r, 10));
        }
        await new Promise((r) => setTimeout(r, random() * 40));
      }
      try {
        child.kill("SIGKILL");
      } catch { /* it finished first */ }
      const st = await child.status;
      await child.stderr.cancel();
      if (st.success) break; // all steps done before the kill
      if (await writing(run)) killsInWrite++;
      // The newest complete checkpoint loads and never goes backwards.
      const ck = await loadCheckpoint(await resolveCheckpointDir(run));
      assert(ck.meta.step >= lastStep, `checkpoint went back from ${lastStep} to ${ck.meta.step}`);
      lastStep = ck.meta.step;
      for (const t of Object.values(ck.tensors)) t.dispose();
    }
    const end = await finish(["--resume", run, "--threads", "1"]);
    assertEquals(end.code, 0, end.stderr);
    const got = await losses(run);
    for (const [step, loss] of want) assertEquals(got.get(step), loss, `loss at step ${step}`);
    console.log(`  ${killsInWrite} of the kills left a checkpoint write unfinished`);
  } finally {
    await Deno.remove(ref, { recursive: true });
    await Deno.remove(run, { recursive: true });
  }
}

Deno.test("kill -9 at ten moments: every resume starts from the newest complete checkpoint and the losses equal an uninterrupted run's", () =>
  killNineTimes(TINY));

// The other method, with the online probe and 2 accumulated batches of 16 a step (16 steps still).
Deno.test("SimSiam, 2 accumulated batches: kill -9 at four moments, and the losses equal an uninterrupted run's", () =>
  killNineTimes(
    [
      ...TINY,
      "--method",
      "simsiam",
      "--predictor-dim",
      "16",
      "--batch-size",
      "16",
      "--accumulate-grad-batches",
      "2",
    ],
    4,
  ));

Deno.test({
  name: "CUDA --deterministic: kill -9 at ten moments, and the losses equal an uninterrupted run's",
  ignore: !hasCuda,
  fn: () => killNineTimes(TINY_CUDA),
});

Deno.test({
  name: "a full, then a read-only run folder: one clear line, and the last checkpoint still loads",
  ignore: !canMount,
  async fn() {
    const mnt = await Deno.makeTempDir({ prefix: "byol-full-" });
    assert(await mountTmpfs(mnt, "size=8m"), "mount tmpfs");
    try {
      const run = join(mnt, "run");
      const first = await finish([
        ...TINY,
        "--max-steps",
        "4",
        "--checkpoint-every",
        "2",
        "--out",
        run,
      ]);
      assertEquals(first.code, 0, first.stderr);
      // Fill the file system to the last byte.
      {
        using f = await Deno.open(join(mnt, "filler"), { write: true, create: true });
        const block = new Uint8Array(64 << 10);
        try {
          for (;;) await f.write(block);
        } catch { /* ENOSPC */ }
        const tail = new Uint8Array(1);
        try {
          for (;;) await f.write(tail);
        } catch { /* full */ }
      }
      const checkOutcome = async (what: string, r: { code: number; stderr: string }) => {
        assert(r.code !== 0, `${what}: the run must fail`);
        const lines = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
        assertEquals(lines.length, 1, `${what}: stderr was\n${r.stderr}`);
        assert(/space|read-only|permission/i.test(lines[0]), `${what}: ${lines[0]}`);
        assert(!/^\s+at /m.test(r.stderr), `${what}: stack trace\n${r.stderr}`);
        const ck = await loadCheckpoint(await resolveCheckpointDir(run));
        assertEquals(ck.meta.step, 4, what);
        for (const t of Object.values(ck.tensors)) t.dispose();
      };
      await checkOutcome(
        "full",
        await finish(["--resume", run, "--max-steps", "8", "--threads", "1"]),
      );
      await Deno.remove(join(mnt, "filler"));
      const ro = await new Deno.Command("mount", { args: ["-o", "remount,ro", mnt] }).output();
      assert(ro.success, "remount read-only");
      await checkOutcome(
        "read-only",
        await finish(["--resume", run, "--max-steps", "8", "--threads", "1"]),
      );
    } finally {
      await umount(mnt);
      await Deno.remove(mnt, { recursive: true });
    }
  },
});
