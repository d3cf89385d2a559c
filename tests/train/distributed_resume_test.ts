// Resume at any world size: a checkpoint does not depend on the number of
// processes, so a run interrupted on 2 ranks and resumed on 1 (and 1 -> 2)
// continues with the losses of an uninterrupted run, within LOSS_RTOL
// (docs/DISTRIBUTED.md: the ranks' reductions run in another order, and
// SyncBatchNorm takes float64 statistics where BatchNorm takes float32).
import { assert, assertEquals } from "../helpers/asserts.ts";
import { LOSS_RTOL, losses, TINY, train } from "./_distributed.ts";

async function run(
  dir: string,
  ranks: number,
  maxSteps: number,
  resume: boolean,
  extra: string[] = [],
) {
  const args = resume
    ? ["--resume", dir, "--max-steps", String(maxSteps), "--threads", "1"]
    : [...TINY, ...extra, "--max-steps", String(maxSteps), "--out", dir];
  const r = await train(ranks > 1 ? ["--nproc-per-node", String(ranks), ...args] : args, {
    deadlineMs: 80_000,
  }).done();
  assertEquals(r.code, 0, r.stderr);
  if (resume) assert(/resuming .* from step 4/.test(r.stderr), r.stderr);
}

/**
 * Loss by loss within LOSS_RTOL, relative to the loss or to `scale`, whichever
 * is larger: SimSiam's loss is a mean of cosines that passes through 0, so its
 * rounding is relative to its range's scale (1), not to its value.
 */
function assertClose(
  got: Map<number, number>,
  want: Map<number, number>,
  what: string,
  scale = 0,
) {
  assertEquals([...got.keys()], [...want.keys()], what);
  for (const [step, l] of want) {
    const d = Math.abs(got.get(step)! - l) / Math.max(scale, Math.abs(l), 1e-12);
    assert(d <= LOSS_RTOL, `${what}: step ${step} loss ${got.get(step)} vs ${l} (rel ${d})`);
  }
}

Deno.test("resume 2 -> 1 and 1 -> 2 ranks: the losses of an uninterrupted run", async () => {
  const root = await Deno.makeTempDir({ prefix: "byol-dist-" });
  try {
    await run(`${root}/whole`, 1, 8, false);
    const want = losses(`${root}/whole`);
    assertEquals(want.size, 8);
    await run(`${root}/two-one`, 2, 4, false);
    await run(`${root}/two-one`, 1, 8, true);
    assertClose(losses(`${root}/two-one`), want, "2 -> 1");
    await run(`${root}/one-two`, 1, 4, false);
    await run(`${root}/one-two`, 2, 8, true);
    assertClose(losses(`${root}/one-two`), want, "1 -> 2");
    // Rank 0 alone appended the resumed steps (rank 1's folder does not write).
    const lines = Deno.readTextFileSync(`${root}/one-two/metrics.jsonl`).trim().split("\n");
    assertEquals(lines.length, 8, lines.join("\n"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("SimSiam with the online probe: resume 2 -> 1 ranks gives the losses of an uninterrupted run", async () => {
  const root = await Deno.makeTempDir({ prefix: "byol-dist-" });
  const simsiam = ["--method", "simsiam", "--predictor-dim", "8"];
  try {
    await run(`${root}/whole`, 1, 8, false, simsiam);
    const want = losses(`${root}/whole`);
    assertEquals(want.size, 8);
    await run(`${root}/two-one`, 2, 4, false, simsiam);
    await run(`${root}/two-one`, 1, 8, true);
    assertClose(losses(`${root}/two-one`), want, "2 -> 1", 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
