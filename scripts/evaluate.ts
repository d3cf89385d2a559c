// deno task evaluate: kNN top-1 (k = 20 and 200) and the offline linear probe
// of a frozen encoder, from a run folder or an encoder file.
//   deno task evaluate --run runs/<name>
//   deno task evaluate --encoder encoder.safetensors --arch resnet18 --stem cifar
//   deno task evaluate --random-init            (the floor: an untrained encoder)
import { Command } from "../deps/commander.ts";
import { join } from "node:path";
import { loadStateDictFile } from "../src/io/tensors.ts";
import { manualSeed, setNumThreads } from "../ffi/runtime.ts";
import { ConfigError, resolveConfig, type TrainConfig } from "../src/train/config.ts";
import { loadDataSource } from "../src/train/data_source.ts";
import { buildEncoder } from "../src/train/encoders.ts";
import { evaluateEncoder } from "../src/train/monitor.ts";
import { resolveDevice } from "../src/train/trainer.ts";
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
  let cfg: TrainConfig;
  if (o.run) {
    const saved = JSON.parse(
      await Deno.readTextFile(join(o.run, "config.json")).catch(() => {
        throw new ConfigError(`--run ${o.run}: no config.json there; is it a run folder?`);
      }),
    );
    cfg = resolveConfig(saved.preset, saved, { ...(o.data ? { data: o.data } : {}) });
  } else {
    cfg = resolveConfig(undefined, undefined, {
      ...(o.arch ? { encoder: o.arch } : {}),
      ...(o.stem ? { stem: o.stem } : {}),
      ...(o.data ? { data: o.data } : {}),
    });
  }
  setNumThreads(navigator.hardwareConcurrency || 1);
  const device = resolveDevice(o.device);
  const data = await loadDataSource({ ...cfg, limit: 0 });
  if (data.test === null || data.train.labels === null) {
    throw new ConfigError(`${data.description} has no labelled test split to evaluate on`);
  }
  manualSeed(Number(o.seed));
  const encoder = buildEncoder(cfg, data.train.channels);
  const file = o.randomInit ? null : (o.encoder ?? join(o.run!, "encoder.safetensors"));
  if (file) encoder.loadStateDict(await loadStateDictFile(file));
  if (device !== "cpu") encoder.to(device);
  const norm = makeConfig(cfg.augment as PresetName).view1;
  console.error(`evaluating ${file ?? `a random-init ${cfg.encoder}`} on ${data.description} ...`);
  const r = evaluateEncoder(encoder, data.train, data.test, device, norm);
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
    (o.run ? join(o.run, o.randomInit ? "evaluate-random-init.json" : "evaluate.json") : null);
  if (out) {
    await Deno.writeTextFile(out, JSON.stringify({ encoder: file, ...r }, null, 2) + "\n");
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
