// deno task export: the encoder of a run (or of a checkpoint) as safetensors
// with torchvision's keys, ready for PyTorch (see docs/EXPORT.md), and the
// metadata that rebuilds it (the same as the trainer's encoder.safetensors).
//   deno task export --run runs/<name> [--out encoder.safetensors] [--checkpoint DIR]
import { Command } from "../deps/commander.ts";
import { join, resolve } from "node:path";
import { saveStateDict } from "../src/io/tensors.ts";
import { disposeCheckpoint, encoderState } from "../src/train/checkpoint.ts";
import { RunFolder } from "../src/train/run_folder.ts";
import { encoderMetadata, encoderSpec, inChannelsOf } from "../src/train/encoder_registry.ts";
import { fail } from "./_cli.ts";

const program = new Command()
  .name("deno task export")
  .description("write a run's online encoder as safetensors with torchvision's parameter names")
  .requiredOption("--run <dir>", "the run folder")
  .option("--checkpoint <dir>", "export from this checkpoint (default: the run's newest)")
  .option("--out <file>", "output file (default <run>/encoder-export.safetensors)")
  .option("--debug", "print stack traces on errors");

async function main(): Promise<void> {
  program.parse(["deno", "export", ...Deno.args]);
  const o = program.opts();
  const run = new RunFolder(o.run, { writer: false });
  const cfg = await run.readConfig();
  const ck = await run.loadCheckpoint(o.checkpoint);
  const encoder = encoderState(ck);
  const out = resolve(o.out ?? join(run.dir, "encoder-export.safetensors"));
  // config.json holds the channels chosen from the data; runs from before that
  // setting have 0 there, and the input convolution's weight says it.
  const channels = cfg.channels || inChannelsOf(cfg.encoder, encoder);
  if (channels === undefined) {
    throw new Error(
      `${ck.dir}: its encoder has no ${cfg.encoder} input convolution; export a checkpoint of this run`,
    );
  }
  await saveStateDict(out, encoder, encoderMetadata(encoderSpec(cfg, channels), ck.meta.step));
  console.log(`wrote ${out} (${Object.keys(encoder).length} tensors, step ${ck.meta.step})`);
  disposeCheckpoint(ck);
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    fail(e, Deno.args.includes("--debug"));
  }
}
