// deno task evaluate: kNN top-1 (k = 20 and 200) and the offline linear probe
// of a frozen encoder, from a run folder or an encoder file.
//   deno task evaluate --run runs/<name>
//   deno task evaluate --encoder encoder.safetensors --arch resnet18 --stem cifar
//   deno task evaluate --random-init            (the floor: an untrained encoder)
import { Command } from "../deps/commander.ts";
import { join } from "node:path";
import { loadStateDictFile } from "../src/io/tensors.ts";
import { writeFileAtomic } from "../src/io/atomic.ts";
import { manualSeed, setNumThreads } from "../ffi/runtime.ts";
import { ConfigError, resolveConfig, type TrainConfig } from "../src/train/config.ts";
import { prepareData, resolveDevice } from "../src/train/run.ts";
import { RunFolder } from "../src/train/run_folder.ts";
import { buildEncoder } from "../src/train/encoders.ts";
import { evaluateEncoder } from "../src/train/monitor.ts";
import { makeConfig, type PresetName } from "../src/augment/presets.ts";
import { fail } from "./_cli.ts";

const program = new Command()
  .name("deno task evaluate")
  .description("kNN (k=20, 200; cosine, T=0.1) and linear-probe accuracy of a frozen encoder")
  .option("--run <dir>", "a run folder (uses its config.json and encoder.safetensors)")
  .option("--encoder <file>", "an encoder .safetensors (torchvision names)")
  .option(
    "--arch <name>",
    "encoder architecture for --encoder / --random-init: convnet | resnet18 | resnet34 | resnet50",
  )
  .option("--stem <stem>", "imagenet | cifar (ResNets)")
  .option("--data <path>", "data to evaluate on (default: the run's, or fashion-mnist)")
  .option("--random-init", "evaluate an untrained encoder of the same architecture (the floor)")
  .option("--seed <n>", "seed of the random-init encoder", "0")
  .option("--device <device>", "auto | cpu | cuda | cuda:N", "auto")
  .option("--json <file>", "also write the results here (default <run>/evaluate.json with --run)")
  .option("--debug", "print stack traces on errors");

async function main(): Promise<void> {
  program.parse(["deno", "evaluate", ...Deno.args]);
  const o = program.opts();
  if (!o.run && !o.encoder && !o.randomInit) {
    throw new ConfigError("give --run DIR, --encoder FILE or --random-init (see --help)");
  }
  const run = o.run ? new RunFolder(o.run, { writer: false }) : null;
  let cfg: TrainConfig = run ? await run.readConfig() : resolveConfig(undefined, {
    ...(o.arch ? { encoder: o.arch } : {}),
    ...(o.stem ? { stem: o.stem } : {}),
  });
  if (o.data) cfg = { ...cfg, data: o.data };
  setNumThreads(navigator.hardwareConcurrency || 1);
  const device = resolveDevice(o.device);
  const { cfg: full, data } = await prepareData({ ...cfg, limit: 0 });
  if (data.test === null || data.train.labels === null) {
    throw new ConfigError(`${data.description} has no labelled test split to evaluate on`);
  }
  manualSeed(Number(o.seed));
  const encoder = buildEncoder(full, data.train.channels);
  let source = `a random-init ${full.encoder}`;
  if (o.encoder) {
    encoder.loadStateDict(await loadStateDictFile(o.encoder));
    source = o.encoder;
  } else if (run && !o.randomInit) {
    const { state, source: from } = await run.loadEncoderState();
    encoder.loadStateDict(state);
    for (const t of Object.values(state)) t.dispose();
    source = from;
  }
  if (device !== "cpu") encoder.to(device);
  const norm = makeConfig(full.augment as PresetName).view1;
  console.error(`evaluating ${source} on ${data.description}, ${data.testSplit} split ...`);
  // One process (no world): rank 0, so the result is never null.
  const r = evaluateEncoder(encoder, data.train, data.test, device, norm)!;
  console.log("| metric      | top-1 % | top-5 % |");
  console.log("| ----------- | ------- | ------- |");
  console.log(`| kNN k=20    | ${r.knn20.toFixed(2).padStart(7)} |         |`);
  console.log(`| kNN k=200   | ${r.knn200.toFixed(2).padStart(7)} |         |`);
  console.log(
    `| linear probe| ${r.probeTop1.toFixed(2).padStart(7)} | ${
      r.probeTop5.toFixed(2).padStart(7)
    } |`,
  );
  const out = o.json ??
    (run ? join(run.dir, o.randomInit ? "evaluate-random-init.json" : "evaluate.json") : null);
  if (out) {
    await writeFileAtomic(
      out,
      JSON.stringify({ encoder: source, split: data.testSplit, ...r }, null, 2) + "\n",
    );
    console.error(`wrote ${out}`);
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    fail(e, Deno.args.includes("--debug"));
  }
}
