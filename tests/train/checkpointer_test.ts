// The checkpoints are a subscriber of the loop (src/train/checkpointer.ts): the
// loop announces when the state is consistent (onCheckpointDue), the
// checkpointer, first of the callbacks, writes and then announces onCheckpoint,
// so every other callback sees the folder written. The cadence is the loop's.
import { join } from "node:path";
import { assert, assertEquals } from "../helpers/asserts.ts";
import { resolveConfig } from "../../src/train/config.ts";
import { Trainer } from "../../src/train/trainer.ts";
import { Checkpointer } from "../../src/train/checkpointer.ts";
import { loadCheckpoint } from "../../src/train/checkpoint.ts";
import { TINY } from "../helpers/tiny_run.ts";

async function checkpointFolders(runDir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(runDir, "checkpoints"))) {
    if (e.name.startsWith("step-")) out.push(e.name);
  }
  return out.sort();
}

Deno.test("the checkpointer writes at the loop's moments, before the others hear of it", async () => {
  const out = await Deno.makeTempDir({ prefix: "byol-checkpointer-" });
  // 512 images, batch 64: 8 steps an epoch, 16 in all; --checkpoint-every 3.
  const t = await Trainer.create(resolveConfig(undefined, { ...TINY, out }));
  try {
    const due: [number, boolean][] = [];
    const written: number[] = [];
    await t.run({
      onCheckpointDue: async (d) => {
        // The checkpointer came first: the step's folder is complete.
        due.push([d.step, d.last]);
        const ck = await loadCheckpoint(
          join(out, "checkpoints", `step-${String(d.step).padStart(7, "0")}`),
        );
        assertEquals(ck.meta.step, d.step);
        for (const v of Object.values(ck.tensors)) v.dispose();
      },
      onCheckpoint: async (dir) => {
        assert(await Deno.stat(join(dir, "state.json")).then(() => true, () => false), dir);
        written.push(Number(dir.slice(dir.lastIndexOf("-") + 1)));
      },
    });
    // Every 3 steps and the epoch end (8) before the last step, then the end (16).
    const steps = [3, 6, 8, 9, 12, 15, 16];
    assertEquals(due, steps.map((s) => [s, s === 16]));
    // The checkpointer's onCheckpoint reached this callback, after it wrote.
    assertEquals(written, steps);
    assertEquals(await checkpointFolders(out), ["step-0000015", "step-0000016"]);

    // keep: a checkpointer of its own keeps that many.
    const one = new Checkpointer({ keep: 1 });
    await one.onCheckpointDue({ step: t.step, run: t.parts, folder: t.folder, last: true });
    assertEquals(await checkpointFolders(out), ["step-0000016"]);
  } finally {
    t.dispose();
    await Deno.remove(out, { recursive: true });
  }
});
