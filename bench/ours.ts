// Our side of one bench case, in its own process so that its peak memory is
// its own: `deno run -A bench/ours.ts <case> '<json params>'` prints one JSON
// object on stdout. Started by bench/sides.ts (`deno task bench`).
import { setNumThreads } from "../mod.ts";
import { peakRssMiB } from "./lib.ts";
import type { CaseParams } from "./cases/params.ts";

const [name, json] = Deno.args;
const params = JSON.parse(json ?? "{}") as CaseParams;
setNumThreads(params.threads);

const cases: Record<string, () => Promise<{ run(p: CaseParams): Promise<unknown> | unknown }>> = {
  matmul: () => import("./cases/matmul.ts"),
  op: () => import("./cases/op.ts"),
  resnet18: () => import("./cases/resnet18.ts"),
  ema: () => import("./cases/ema.ts"),
  optim: () => import("./cases/optim.ts"),
  augment: () => import("./cases/augment.ts"),
  step: () => import("./cases/step.ts"),
  host: () => import("./cases/host.ts"),
  decode: () => import("./cases/decode.ts"),
  loader: () => import("./cases/loader.ts"),
};
const load = cases[name];
if (load === undefined) throw new Error(`unknown case ${name}; one of ${Object.keys(cases)}`);
const result = await (await load()).run(params);
console.log(JSON.stringify({ result, peakRssMiB: peakRssMiB() }));
