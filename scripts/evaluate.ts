// deno task evaluate: kNN top-1 (k = 20 and 200) and the offline linear probe
// of a frozen encoder, from a run folder or an encoder file.
//   deno task evaluate --run runs/<name>
//   deno task evaluate --encoder encoder.safetensors   (rebuilt from the file's metadata)
//   deno task evaluate --random-init            (the floor: an untrained encoder)
import { Command } from "../deps/commander.ts";
import { join } from "node:path";
import { writeFileAtomic } from "../src/io/atomic.ts";
import { manualSeed, setNumThreads } from "../ffi/runtime.ts";
import { ConfigError, resolveConfig, type TrainConfig } from "../src/train/config.ts";
import { prepareData, resolveDevice } from "../src/train/run.ts";
import { RunFolder } from "../src/train/run_folder.ts";
import { buildEncoder, encoderOfFile, readEncoderFile } from "../src/train/encoders.ts";
import { describeEncoder, ENCODERS, type SpecKey } from "../src/train/encoder_registry.ts";
import { evaluateEncoder } from "../src/train/monitor.ts";
import type { Encoder } from "../src/byol/model.ts";
import { makeConfig, type PresetName } from "../src/augment/presets.ts";
import { sliceSet } from "../src/data/image_set.ts";
import { fail } from "./_cli.ts";

const program = new Command()
  .name("deno task evaluate")
  .description("kNN (k=20, 200; cosine, T=0.1) and linear-probe accuracy of a frozen encoder")
  .option("--run <dir>", "a run folder (uses its config.json and encoder.safetensors)")
  .option(
    "--encoder <file>",
    "an encoder .safetensors (torchvision names); the encoder its metadata records is rebuilt",
  )
  .option(
    "--arch <name>",
    `encoder for --random-init, or for an --encoder file that does not record it: ${
      ENCODERS.join(" | ")
    }`,
  )
  .option("--stem <stem>", "imagenet | cifar: ResNet stem, as --arch")
  .option("--width <n>", "convnet width, as --arch (files written before it was recorded)")
  .option("--data <path>", "data to evaluate on (default: the run's, or fashion-mnist)")
  .option("--limit <n>", "use only the first N training and N test images (0: all)", "0")
  .option("--random-init", "evaluate an untrained encoder of the same architecture (the floor)")
  .option("--seed <n>", "seed of the random-init encoder", "0")
  .option("--device <device>", "auto | cpu | cuda | cuda:N", "auto")
  .option("--json <file>", "also write the results here (default <run>/evaluate.json with --run)")
  .option("--debug", "print stack traces on errors");

/** The flag that sets each spec key an encoder file may lack. */
const FLAG: Record<SpecKey, string> = {
  encoder: "arch",
  width: "width",
  stem: "stem",
  inChannels: "",
};

async function main(): Promise<void> {
  program.parse(["deno", "evaluate", ...Deno.args]);
  const o = program.opts();
  if (!o.run && !o.encoder && !o.randomInit) {
    throw new ConfigError("give --run DIR, --encoder FILE or --random-init (see --help)");
  }
  const limit = Number(o.limit);
  if (!Number.isInteger(limit) || limit < 0) {
    throw new ConfigError(`--limit ${o.limit}: expected 0 (all) or a positive integer`);
  }
  const run = o.run ? new RunFolder(o.run, { writer: false }) : null;
  let cfg: TrainConfig = run ? await run.readConfig() : resolveConfig(undefined, {
    ...(o.arch ? { encoder: o.arch } : {}),
    ...(o.stem ? { stem: o.stem } : {}),
    ...(o.width ? { width: o.width } : {}),
  });
  if (o.data) cfg = { ...cfg, data: o.data };
  setNumThreads(navigator.hardwareConcurrency || 1);
  const device = resolveDevice(o.device);
  const { cfg: full, data } = await prepareData({ ...cfg, limit });
  if (data.test === null || data.train.labels === null) {
    throw new ConfigError(`${data.description} has no labelled test split to evaluate on`);
  }
  const test = limit > 0 ? sliceSet(data.test, 0, limit) : data.test;
  manualSeed(Number(o.seed));
  const channels = data.train.channels;
  let encoder: Encoder;
  let source = `a random-init ${full.encoder}`;
  if (o.encoder) {
    const loaded = await encoderFile(o, full, channels, data.description);
    encoder = loaded.encoder;
    source = o.randomInit
      ? `a random-init encoder of ${o.encoder}'s architecture, ${loaded.description},`
      : `${o.encoder}, ${loaded.description},`;
  } else {
    encoder = buildEncoder(full, channels);
    if (run && !o.randomInit) {
      const { state, source: from } = await run.loadEncoderState();
      encoder.loadStateDict(state);
      for (const t of Object.values(state)) t.dispose();
      source = from;
    }
  }
  if (device !== "cpu") encoder.to(device);
  // The run's view: its normalisation, and its size for the centre crop of
  // images stored larger (--stored-size).
  const norm = { ...makeConfig(full.augment as PresetName).view1, size: full.imageSize };
  const part = limit > 0 ? ` (the first ${limit} images of each split)` : "";
  console.error(`evaluating ${source} on ${data.description}, ${data.testSplit} split${part} ...`);
  // One process (no world): rank 0, so the result is never null.
  const r = evaluateEncoder(encoder, data.train, test, device, norm)!;
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

/**
 * The encoder an --encoder file's metadata records, with its weights (random
 * init with --random-init). What the file lacks comes from --arch, --width,
 * --stem or the preset, and from the data's channels, with one note line; a
 * flag that contradicts the file, or data of other channels, is refused.
 */
async function encoderFile(
  o: Record<string, string | boolean | undefined>,
  cfg: TrainConfig,
  channels: number,
  dataName: string,
): Promise<{ encoder: Encoder; description: string }> {
  const file = String(o.encoder);
  const read = await readEncoderFile(file, {
    encoder: cfg.encoder,
    width: cfg.width,
    stem: cfg.stem,
    inChannels: channels,
  });
  const { spec, missing } = read;
  try {
    const value = (k: SpecKey) => k === "encoder" ? spec.kind : spec[k];
    // A flag may only supply what the file lacks.
    for (const [key, flag] of Object.entries(FLAG) as [SpecKey, string][]) {
      const given = flag === "" ? undefined : o[flag];
      if (given === undefined || missing.includes(key) || value(key) === undefined) continue;
      if (String(given) !== String(value(key))) {
        throw new ConfigError(
          `--${flag} ${given}: ${file} records ${key} ${
            value(key)
          } in its metadata; drop --${flag}`,
        );
      }
    }
    if (missing.length > 0) {
      const used = missing.map((k) => {
        const from = FLAG[k] === ""
          ? "the data's"
          : o[FLAG[k]] !== undefined
          ? `--${FLAG[k]}`
          : `the preset's; --${FLAG[k]} to set it`;
        return `${k} ${value(k)} (${from})`;
      });
      console.error(
        `note: ${file} does not record ${missing.join(", ")} (written before encoder files ` +
          `recorded it); using ${used.join(", ")}`,
      );
    }
    if (spec.inChannels !== channels) {
      throw new ConfigError(
        `${file} takes ${spec.inChannels}-channel images but ${dataName} has ${channels}; ` +
          `evaluate it on ${spec.inChannels}-channel data (--data)`,
      );
    }
  } catch (e) {
    for (const t of Object.values(read.state)) t.dispose();
    throw e;
  }
  return {
    encoder: encoderOfFile(read, { weights: !o.randomInit }),
    description: describeEncoder(spec),
  };
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    fail(e, Deno.args.includes("--debug"));
  }
}
