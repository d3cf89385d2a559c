// The trainer under torchrun (`python -m torch.distributed.run --no_python`),
// each line with its own torchrun: Debian's /usr/bin/python3 for libtorch
// 1.13 (with `--redirects 2 --tee 1`, around torch 1.13's crash on Python
// 3.11 with the defaults), the venv's python for PyTorch 2.x (build-info's
// referencePython). Every rank is a client of the agent's store.
import { join } from "node:path";
import { assert, assertEquals } from "../helpers/asserts.ts";
import { PYTHON } from "../helpers/python.ts";
import { torchVersion } from "../../ffi/runtime.ts";
import { checkpoints, freePort, losses, Proc, TINY, TRAIN } from "./_distributed.ts";

Deno.test("torchrun --nproc_per_node 2 runs a few steps and writes one run folder", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "byol-torchrun-" });
  const old = Number(torchVersion.split(".")[0]) < 2;
  const p = new Proc(PYTHON, [
    "-m",
    "torch.distributed.run",
    "--no_python",
    "--nproc_per_node",
    "2",
    ...(old ? ["--redirects", "2", "--tee", "1"] : []),
    "--master_addr",
    "127.0.0.1",
    "--master_port",
    String(freePort()),
    Deno.execPath(),
    "run",
    "-A",
    TRAIN,
    ...TINY,
    "--max-steps",
    "3",
    "--dist-timeout",
    "30",
  ], { cwd, deadlineMs: 90_000 });
  try {
    const r = await p.done();
    assertEquals(r.code, 0, r.stdout + r.stderr);
    const runs = [...Deno.readDirSync(join(cwd, "runs"))].map((e) => e.name);
    assertEquals(runs.length, 1, `run folders: ${runs}`);
    const dir = join(cwd, "runs", runs[0]);
    const cfg = JSON.parse(Deno.readTextFileSync(join(dir, "config.json")));
    assertEquals([cfg.nprocPerNode, cfg.nnodes], [2, 1]);
    assertEquals([...losses(dir).keys()], [1, 2, 3]);
    // Rank 0 alone writes: each record once.
    assertEquals(Deno.readTextFileSync(join(dir, "metrics.jsonl")).trim().split("\n").length, 3);
    assert([...losses(dir).values()].every(Number.isFinite));
    assertEquals(checkpoints(dir), ["step-0000002", "step-0000003"]);
  } finally {
    p.killTree("SIGKILL");
    await p.done();
    await Deno.remove(cwd, { recursive: true });
  }
});
