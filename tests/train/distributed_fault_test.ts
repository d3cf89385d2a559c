// Faults: a rank SIGKILLed under the launcher, and a rank that hangs
// (SIGSTOP) among ranks started by hand. The survivor exits non-zero within
// --dist-timeout with one line naming the lost rank, never hangs, and the
// run's last checkpoint still loads.
import { assert, assertEquals } from "../helpers/asserts.ts";
import { loadCheckpoint, resolveCheckpointDir } from "../../src/train/checkpoint.ts";
import { checkpoints, envOf, freePort, rank, TINY, train, waitFor } from "./_distributed.ts";

const LONG = ["--epochs", "500", "--checkpoint-every", "2"];

async function lastCheckpointLoads(dir: string): Promise<void> {
  const ck = await loadCheckpoint(await resolveCheckpointDir(dir));
  try {
    assert(ck.meta.step >= 2 && ck.meta.step % 2 === 0, `step ${ck.meta.step}`);
    assert(Object.keys(ck.tensors).some((k) => k.startsWith("online.encoder.")));
  } finally {
    for (const t of Object.values(ck.tensors)) t.dispose();
  }
}

Deno.test("a SIGKILLed rank: the launcher stops, names it, exits non-zero; the survivor names it too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "byol-dist-" });
  const p = train(
    ["--nproc-per-node", "2", ...TINY, ...LONG, "--dist-timeout", "10", "--out", dir],
    {
      deadlineMs: 80_000,
    },
  );
  try {
    await waitFor(() => checkpoints(dir).length > 0, 60_000, "a first checkpoint");
    const victim = p.children().find((pid) => envOf(pid, "RANK") === "1");
    assert(victim !== undefined, `no rank 1 among the launcher's children ${p.children()}`);
    const t0 = performance.now();
    Deno.kill(victim, "SIGKILL");
    const r = await p.done();
    const s = (performance.now() - t0) / 1000;
    assert(r.code !== 0, "the launcher exited 0");
    // The survivor's own line, then the launcher's.
    assert(/error: rank 0 of 2: lost rank 1 during /.test(r.stderr), r.stderr);
    assert(
      /launcher: error: rank 1 was killed by SIGKILL; all workers stopped/.test(r.stderr),
      r.stderr,
    );
    assert(s < 10 + 8, `took ${s.toFixed(1)} s`);
    await lastCheckpointLoads(dir);
  } finally {
    p.killTree("SIGKILL");
    await p.done();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a hung rank (SIGSTOP): the other exits non-zero within --dist-timeout, naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "byol-dist-" });
  const port = freePort();
  const args = [...TINY, ...LONG, "--dist-timeout", "4", "--out", dir];
  const r0 = rank(0, 2, port, args, 80_000);
  const r1 = rank(1, 2, port, args, 80_000);
  try {
    await waitFor(() => checkpoints(dir).length > 0, 60_000, "a first checkpoint");
    const t0 = performance.now();
    Deno.kill(r1.pid, "SIGSTOP");
    const r = await r0.done();
    const s = (performance.now() - t0) / 1000;
    assertEquals(r.code, 1, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => /^error: /.test(l));
    assertEquals(lines.length, 1, r.stderr);
    assert(/^error: rank 0 of 2: lost rank 1 during /.test(lines[0]), lines[0]);
    // The timeout bounds the wait: 4 s, plus the step it was in.
    assert(s >= 3 && s < 4 + 6, `took ${s.toFixed(1)} s`);
    await lastCheckpointLoads(dir);
  } finally {
    r1.killTree("SIGKILL");
    r0.killTree("SIGKILL");
    await Promise.all([r0.done(), r1.done()]);
    await Deno.remove(dir, { recursive: true });
  }
});
