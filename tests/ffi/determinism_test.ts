// --deterministic: torch.use_deterministic_algorithms and cuDNN's flags as
// libtorch reports them, the one-line hint for an op without a deterministic
// kernel (checked on PyTorch's own message), and a CPU run with the flag:
// recorded in config.json, announced, and the losses of a run without it (the
// CPU path is exact either way). The CUDA side is tests/cuda/determinism_test.ts.
import { join } from "node:path";
import { assert, assertEquals } from "../helpers/asserts.ts";
import { determinismHint, deterministicState, useDeterministicAlgorithms } from "../../mod.ts";
import { resolveConfig, type TrainConfig } from "../../src/train/config.ts";
import { RESUMABLE } from "../../src/train/settings.ts";
import { Trainer } from "../../src/train/trainer.ts";
import { python } from "../helpers/python.ts";

Deno.test("useDeterministicAlgorithms sets torch's flag, cuDNN deterministic, benchmark off, cuBLAS's workspace", () => {
  const before = deterministicState();
  try {
    useDeterministicAlgorithms(true);
    assertEquals(deterministicState(), {
      algorithms: true,
      cudnnDeterministic: true,
      cudnnBenchmark: false,
    });
    assertEquals(Deno.env.get("CUBLAS_WORKSPACE_CONFIG") !== undefined, true);
    useDeterministicAlgorithms(false);
    const off = deterministicState();
    assertEquals([off.algorithms, off.cudnnDeterministic], [false, false]);
  } finally {
    useDeterministicAlgorithms(before.algorithms);
  }
  let threw = "";
  try {
    // deno-lint-ignore no-explicit-any
    useDeterministicAlgorithms("yes" as any);
  } catch (e) {
    threw = (e as Error).message;
  }
  assert(/on must be a boolean/.test(threw), threw);
});

Deno.test("determinismHint names the op of PyTorch's own 'no deterministic implementation' error", async () => {
  // put_ (accumulate=False) has no deterministic kernel on the CPU, in 1.13 and 2.x.
  const message = (await python(`
import torch
torch.use_deterministic_algorithms(True)
try:
    torch.zeros(5).put_(torch.tensor([0, 1, 1]), torch.ones(3))
    print("no error")
except RuntimeError as e:
    print(str(e))
`)).trim();
  const hint = determinismHint(`tt_put: ${message}`);
  assert(hint !== null, `not recognised: ${message}`);
  assert(hint.startsWith("put_ has no deterministic kernel"), hint);
  assert(/run without --deterministic/.test(hint), hint);
  assertEquals(determinismHint("matmul: mat1 and mat2 shapes cannot be multiplied"), null);
});

Deno.test("a CPU run with --deterministic records and announces it, with an unflagged run's losses", async () => {
  assert(RESUMABLE.includes("deterministic"), "--deterministic may change on --resume");
  const tiny: Partial<TrainConfig> = {
    device: "cpu",
    threads: 1,
    limit: 256,
    precision: "32",
    epochs: 1,
    maxSteps: 4,
    batchSize: 64,
    width: 8,
    hiddenDim: 64,
    projectionDim: 32,
    logEvery: 1,
    knnEvery: 0,
    evaluate: false,
  };
  const losses: number[][] = [];
  const messages: string[] = [];
  const before = deterministicState();
  for (const deterministic of [false, true]) {
    const out = await Deno.makeTempDir({ prefix: "byol-det-" });
    try {
      const t = await Trainer.create(resolveConfig(undefined, { ...tiny, deterministic, out }));
      const seen: number[] = [];
      await t.run({ onLog: (m) => seen.push(m.loss), onMessage: (m) => messages.push(m) });
      t.dispose();
      losses.push(seen);
      const saved = JSON.parse(await Deno.readTextFile(join(out, "config.json")));
      assertEquals(saved.deterministic, deterministic);
      assertEquals(deterministicState().algorithms, deterministic);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  }
  useDeterministicAlgorithms(before.algorithms);
  assertEquals(losses[0].length, 4);
  assertEquals(losses[1], losses[0]);
  assert(messages.some((m) => /deterministic algorithms/.test(m)), messages.join("\n"));
});
