// `deno task train --nproc-per-node 2`: the launcher's environment contract,
// one run folder written by rank 0 alone, the global batch refused when it
// does not split, and a SIGINT to the launcher: every rank stops at the same
// step, rank 0 checkpoints, the resume command is printed once.
import { join } from "node:path";
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { LAUNCH_KEYS, planWorkers, workerArgs } from "../../src/distributed/launch.ts";
import { ConfigError, DEFAULTS } from "../../src/train/settings.ts";
import { rankDevice } from "../../src/distributed/world.ts";
import { cuda } from "../../ffi/runtime.ts";
import { isNcclAvailable } from "../../src/distributed/group.ts";
import {
  checkpoints,
  envOf,
  LOSS_RTOL,
  losses,
  relDiff,
  TINY,
  train,
  waitFor,
} from "./_distributed.ts";

Deno.test("launcher: worker arguments and torchrun's environment contract", () => {
  assertEquals(
    workerArgs([
      "--nproc-per-node",
      "2",
      "--lr",
      "0.1",
      "--nnodes=1",
      "--master-port",
      "1234",
      "--node-rank",
      "0",
      "--master-addr=h",
      "--out",
      "x",
    ]),
    ["--lr", "0.1", "--out", "x"],
  );
  const base = Object.fromEntries(LAUNCH_KEYS.map((k) => [k, DEFAULTS[k]])) as Parameters<
    typeof planWorkers
  >[0];
  const two = planWorkers({ ...base, nprocPerNode: 2, nnodes: 3, nodeRank: 1, masterAddr: "h" }, {
    port: 4321,
    cores: 8,
    baseEnv: {},
  });
  assertEquals(two.map((p) => [p.env.RANK, p.env.LOCAL_RANK, p.env.GROUP_RANK]), [
    ["2", "0", "1"],
    ["3", "1", "1"],
  ]);
  assertEquals(
    [two[0].env.WORLD_SIZE, two[0].env.LOCAL_WORLD_SIZE, two[0].env.MASTER_ADDR],
    ["6", "2", "h"],
  );
  assertEquals([two[0].env.MASTER_PORT, two[0].env.OMP_NUM_THREADS], ["4321", "4"]);
  // Several machines: Gloo's interface is the user's choice, not loopback.
  assertEquals(two[0].env.GLOO_SOCKET_IFNAME, undefined);
  const one = planWorkers({ ...base, nprocPerNode: 2, masterPort: 999 }, {
    port: 4321,
    cores: 2,
    threads: 3,
    baseEnv: {},
  });
  assertEquals([one[1].env.MASTER_PORT, one[1].env.OMP_NUM_THREADS], ["999", "3"]);
  let msg = "";
  try {
    planWorkers({ ...base, nnodes: 2, nodeRank: 2 }, { port: 1, cores: 1 });
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(/--node-rank 2 is outside 0..1/.test(msg), msg);
});

Deno.test("a rank's device: the CPU with Gloo, its LOCAL_RANK's GPU with NCCL, else the fix", () => {
  assertEquals(rankDevice("cpu", 1), "cpu");
  const gpus = cuda.isAvailable() ? cuda.deviceCount() : 0;
  assertEquals(rankDevice("auto", 0), gpus > 0 && isNcclAvailable() ? "cuda:0" : "cpu");
  assertThrows(() => rankDevice("cuda:1", 0), ConfigError, "give --device cuda");
  // One GPU per process: a LOCAL_RANK past the machine's GPUs, no GPU, or no NCCL.
  assertThrows(
    () => rankDevice("cuda", gpus),
    ConfigError,
    !isNcclAvailable()
      ? "needs an NCCL"
      : gpus === 0
      ? "no CUDA device is visible"
      : `has no GPU of its own (this machine has ${gpus})`,
  );
});

Deno.test("launcher: a global batch that does not split over the ranks is refused with the fix", async () => {
  const dir = await Deno.makeTempDir({ prefix: "byol-dist-" });
  try {
    const r = await train(["--nproc-per-node", "2", ...TINY, "--batch-size", "33", "--out", dir], {
      deadlineMs: 60_000,
    }).done();
    assert(r.code !== 0, "exited 0");
    assert(
      /--batch-size 33 \(the global batch\) does not split over 2 processes; give a multiple of 2, e\.g\. --batch-size 32/
        .test(r.stderr),
      r.stderr,
    );
    assert(/launcher: error: rank \d exited with code 1/.test(r.stderr), r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("launcher: 2 ranks write one run folder, from rank 0 alone, with a 1-rank run's losses", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "byol-dist-" });
  try {
    // No --out: the folder's name has the time in it, so rank 0 names it for all.
    const r = await train(["--nproc-per-node", "2", ...TINY, "--max-steps", "4"], {
      cwd,
      deadlineMs: 80_000,
    }).done();
    assertEquals(r.code, 0, r.stderr);
    const runs = [...Deno.readDirSync(join(cwd, "runs"))].map((e) => e.name);
    assertEquals(runs.length, 1, `run folders: ${runs}`);
    const dir = join(cwd, "runs", runs[0]);
    const cfg = JSON.parse(Deno.readTextFileSync(join(dir, "config.json")));
    assertEquals([cfg.nprocPerNode, cfg.nnodes, cfg.batchSize, cfg.threads], [2, 1, 32, 1]);
    assertEquals([...losses(dir).keys()], [1, 2, 3, 4]);
    // The same training as one process (SyncBatchNorm, the global batch's
    // augmentation draws), up to the order of float reductions.
    const solo = await train([...TINY, "--max-steps", "4", "--out", join(cwd, "solo")], {
      deadlineMs: 60_000,
    }).done();
    assertEquals(solo.code, 0, solo.stderr);
    const want = losses(join(cwd, "solo"));
    for (const [step, l] of losses(dir)) {
      const d = relDiff(l, want.get(step)!);
      assert(d <= LOSS_RTOL, `step ${step}: 2 ranks ${l}, 1 rank ${want.get(step)} (rel ${d})`);
    }
    // Each metrics record once: rank 1 writes nothing.
    assertEquals(Deno.readTextFileSync(join(dir, "metrics.jsonl")).trim().split("\n").length, 4);
    assertEquals(checkpoints(dir), ["step-0000002", "step-0000004"]);
    // Rank 0's progress passes through; rank 1 prints nothing but errors.
    assert(/training BYOL/.test(r.stderr), r.stderr);
    assert(!/\[rank 1\]/.test(r.stderr), r.stderr);
    assertEquals((r.stdout.match(/run folder:/g) ?? []).length, 1, r.stdout);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

/** Starts a long 2-rank run, sends SIGINT to `target` once a few steps are logged, checks the stop. */
async function interrupt(target: "launcher" | "rank 1"): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "byol-dist-" });
  const p = train(
    ["--nproc-per-node", "2", ...TINY, "--epochs", "200", "--checkpoint-every", "0", "--out", dir],
    { deadlineMs: 80_000 },
  );
  try {
    const metrics = join(dir, "metrics.jsonl");
    await waitFor(
      () => {
        try {
          return Deno.readTextFileSync(metrics).split("\n").length > 3;
        } catch {
          return false;
        }
      },
      60_000,
      "a few logged steps",
    );
    // As `kill -INT`: the launcher forwards it; a rank alone makes the others agree.
    const pid = target === "launcher" ? p.pid : p.children().find((c) => envOf(c, "RANK") === "1");
    assert(pid !== undefined, "no rank 1 among the launcher's children");
    Deno.kill(pid, "SIGINT");
    const r = await p.done();
    assertEquals(r.code, 130, r.stderr);
    assertEquals((r.stderr.match(/resume with: /g) ?? []).length, 1, r.stderr);
    assert(
      /resume with: deno task train --resume \S+ --nproc-per-node 2/.test(r.stderr),
      r.stderr,
    );
    const steps = [...losses(dir).keys()];
    const last = steps[steps.length - 1];
    // The checkpoint is of the step the ranks stopped at (the last logged one).
    assertEquals(checkpoints(dir), [`step-${String(last).padStart(7, "0")}`]);
    assert(!/error/.test(r.stderr), r.stderr);
  } finally {
    p.killTree("SIGKILL");
    await p.done();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("launcher: SIGINT to the launcher stops every rank at one step; rank 0 checkpoints; one resume line", async () => {
  await interrupt("launcher");
});

Deno.test("SIGINT to one rank: the ranks agree on the step to stop at", async () => {
  await interrupt("rank 1");
});
