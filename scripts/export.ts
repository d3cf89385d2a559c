// deno task export: the encoder of a run (or of a checkpoint) as safetensors
// with torchvision's keys, ready for PyTorch (see docs/EXPORT.md).
//   deno task export --run runs/<name> [--out encoder.safetensors] [--checkpoint DIR]
import { Command } from "../deps/commander.ts";
import { join, resolve } from "node:path";
import { saveStateDict } from "../src/io/tensors.ts";
import { disposeCheckpoint, encoderState } from "../src/train/checkpoint.ts";
import { RunFolder } from "../src/train/run_folder.ts";
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
  await saveStateDict(out, encoder, {
    format: "pt",
    encoder: cfg.encoder,
    stem: cfg.stem,
    step: String(ck.meta.step),
  });
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
