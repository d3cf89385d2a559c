// bf16-mixed vs fp32 for a preset's step on the CPU, as auto's probe times it (a throwaway copy
// of the run, one step of each precision alternately). Usage: deno run -A bench/precision.ts [batch]
import { buildRun, configureRuntime, prepareData } from "../src/train/run.ts";
import { probeSteps } from "../src/train/probe.ts";
import { resolveConfig } from "../src/train/config.ts";
const batch = Number(Deno.args[0] ?? 512);
const cfg0 = resolveConfig(undefined, {
  batchSize: batch,
  device: "cpu",
  limit: 4096,
  precision: "32",
});
const prep = await prepareData(cfg0);
configureRuntime(prep.cfg, "cpu");
const run = buildRun(prep.cfg, prep.data, "cpu");
const p = probeSteps(run);
const med = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
p.probe("32", 2);
p.probe("bf16-mixed", 2);
const a: number[] = [], b: number[] = [];
for (let i = 0; i < 6; i++) {
  a.push(...p.probe("32", 1));
  b.push(...p.probe("bf16-mixed", 1));
}
console.log(JSON.stringify({ batch, fp32: med(a), bf16: med(b), ratio: med(a) / med(b), a, b }));
