// The captured step's parts that run without a GPU: the --cuda-graphs
// decision, the methods' device-side update (stepValues + afterStepFrom) against
// their host one, and the step object's body (static inputs gathered on the
// device, capturable optimizer, the method's update from device scalars) run
// eagerly against the eager step: equal losses and weights across an epoch
// boundary. The graph itself (capture, replay) needs CUDA: tests/cuda.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { manualSeed, noGrad, setNumThreads, zeros } from "../../mod.ts";
import { resolveConfig, type TrainConfig } from "../../src/train/config.ts";
import { chooseCudaGraphs } from "../../src/train/cuda_graphs.ts";
import { GraphedStep, WARMUP_STEPS } from "../../src/train/graph_step.ts";
import { buildOptimizer, buildRun, disposeRun, prepareData } from "../../src/train/run.ts";
import { ConfigError } from "../../src/train/settings.ts";
import { trainStep } from "../../src/train/step.ts";
import { TINY } from "../helpers/tiny_run.ts";

setNumThreads(navigator.hardwareConcurrency || 2);

Deno.test("--cuda-graphs: auto takes them only where a captured step can run, on refuses with the cause", () => {
  const cfg = (cudaGraphs: "auto" | "on" | "off", accumulateGradBatches = 1) => ({
    cudaGraphs,
    accumulateGradBatches,
  });
  assertEquals(chooseCudaGraphs(cfg("auto"), "cuda", 1, true).on, true);
  assertEquals(chooseCudaGraphs(cfg("on"), "cuda:1", 1, true).on, true);
  assertEquals(chooseCudaGraphs(cfg("off"), "cuda", 1, true).on, false);
  for (
    const [c, device, world, available, cause] of [
      [cfg("auto"), "cpu", 1, true, "the device is cpu"],
      [cfg("auto"), "cuda", 1, false, "no CUDA graphs"],
      [cfg("auto"), "cuda", 2, true, "2 processes"],
      [cfg("auto", 4), "cuda", 1, true, "--accumulate-grad-batches 4"],
    ] as const
  ) {
    const choice = chooseCudaGraphs(c, device, world, available);
    assertEquals(choice.on, false);
    assert(choice.why.startsWith("off (auto: ") && choice.why.includes(cause), choice.why);
    const e = assertThrows(
      () => chooseCudaGraphs({ ...c, cudaGraphs: "on" }, device, world, available),
      ConfigError,
    );
    assert(e.message.includes(cause) && e.message.includes("--cuda-graphs auto or off"), e.message);
  }
});

for (const method of ["byol", "simsiam"] as const) {
  Deno.test(`${method}: afterStepFrom(device scalars) updates exactly as afterStep(step)`, async () => {
    const { cfg, data } = await prepareData(
      resolveConfig(undefined, { ...TINY, method, limit: 64, onlineProbe: "off" }),
    );
    const build = () => {
      manualSeed(5);
      return buildRun(cfg, data, "cpu");
    };
    const a = build();
    const b = build();
    const all = a.schedule.allSteps;
    // Move the online weights away from the target's, the same in both.
    noGrad(() => {
      for (const r of [a, b]) {
        for (const [, p] of r.method.namedParameters()) p.mul_(1.5);
      }
    });
    for (const step of [0, 3, all - 1]) {
      const metrics = a.method.afterStep(step, all);
      const values = b.method.stepValues(step, all);
      assertEquals(values, metrics, "stepValues are afterStep's metrics");
      const tensors = Object.fromEntries(
        Object.entries(values).map(([k, v]) => [k, zeros([], { dtype: "float64" }).fill_(v)]),
      );
      b.method.afterStepFrom(tensors);
      for (const t of Object.values(tensors)) t.dispose();
    }
    // On the CPU a tensor weight is read and the same vectorised lerp runs
    // (tt_lerp_list_tensor): the very same update, bit for bit.
    const sa = a.method.stateDict();
    const sb = b.method.stateDict();
    assertEquals(Object.keys(sb), Object.keys(sa));
    noGrad(() => {
      for (const k of Object.keys(sa)) {
        assertEquals(sb[k].sub(sa[k]).abs().max().item(), 0, `${k} differs`);
      }
    });
    disposeRun(a);
    disposeRun(b);
  });
}

for (
  const [method, optimizer, probe] of [
    ["byol", "adamw", "views"],
    ["byol", "lars", "images"],
    ["simsiam", "sgd", "views"],
  ] as const
) {
  Deno.test(`the captured step's body, run eagerly, equals the eager step (${method}, ${optimizer}, probe ${probe})`, async () => {
    // 96 images of batch 16: 6 steps an epoch, so 9 steps cross an epoch
    // boundary (the order is rewritten) after the warm-up's eager steps.
    const base = resolveConfig(undefined, {
      ...TINY,
      method,
      optimizer,
      onlineProbe: probe,
      limit: 96,
      batchSize: 16,
      epochs: 3,
      warmupEpochs: 1,
    } as Partial<TrainConfig>);
    const { cfg, data } = await prepareData(base);
    const build = () => {
      manualSeed(5);
      return buildRun(cfg, data, "cpu");
    };
    const eager = build();
    const graphed = build();
    // What a CUDA run with graphs builds: capturable optimizers.
    graphed.optimizer.dispose();
    graphed.optimizer = buildOptimizer(cfg, graphed.method, graphed.probe, { capturable: true });
    const stepper = new GraphedStep(graphed, { capture: false });
    const steps = WARMUP_STEPS + 9;
    for (let step = 0; step < steps; step++) {
      const a = trainStep(eager, step, true);
      const b = stepper.run(step, true);
      const scale = Math.max(1, Math.abs(a.loss));
      assert(
        Math.abs(a.loss - b.loss) <= 1e-6 * scale,
        `step ${step}: loss ${b.loss} vs ${a.loss}`,
      );
      assertEquals(b.lr, a.lr);
      assertEquals(Object.keys(b.metrics).sort(), Object.keys(a.metrics).sort());
      for (const k of Object.keys(a.metrics)) {
        const d = Math.abs(a.metrics[k] - b.metrics[k]);
        assert(d <= 1e-6 * Math.max(1, Math.abs(a.metrics[k])), `step ${step}: ${k}`);
      }
    }
    // float32 weights after 12 steps of the same arithmetic up to the
    // capturable optimizer's device-side scalars (float32 lr and bias
    // corrections): within a few float32 roundings of each weight's size.
    noGrad(() => {
      const pa = Object.fromEntries(eager.method.namedParameters());
      for (const [k, p] of graphed.method.namedParameters()) {
        const d = p.sub(pa[k]).abs().max().item();
        const m = pa[k].abs().max().item();
        assert(d <= 1e-5 * Math.max(m, 1e-3), `${k}: max difference ${d} (max ${m})`);
      }
    });
    assertEquals(
      graphed.optimizer.stateDict().meta.steps,
      eager.optimizer.stateDict().meta.steps,
      "the optimizers' step counts",
    );
    stepper[Symbol.dispose]();
    disposeRun(eager);
    disposeRun(graphed);
  });
}
