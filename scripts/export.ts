// deno task export: the encoder of a run (or of a checkpoint) as safetensors
// with torchvision's keys, ready for PyTorch (see docs/EXPORT.md).
//   deno task export --run runs/<name> [--out encoder.safetensors] [--checkpoint DIR]
import { Command } from "../deps/commander.ts";
import { join, resolve } from "node:path";
import { saveStateDict } from "../src/io/tensors.ts";
import { loadCheckpoint, resolveCheckpointDir } from "../src/train/checkpoint.ts";
import { ConfigError } from "../src/train/config.ts";
import { fail } from "./_cli.ts";

const program = new Command()
  .name("deno task export")
  .description("write a run's online encoder as safetensors with torchvision's parameter names")
  .requiredOption("--run <dir>", "the run folder")
  .option("--checkpoint <dir>", "export from this checkpoint (default: the run's latest)")
  .option("--out <file>", "output file (default <run>/encoder-export.safetensors)")
  .option("--debug", "print stack traces on errors");

async function main(): Promise<void> {
  program.parse(["deno", "export", ...Deno.args]);
  const o = program.opts();
  const config = await Deno.readTextFile(join(o.run, "config.json")).catch(() => {
    throw new ConfigError(`--run ${o.run}: no config.json there; is it a run folder?`);
  });
  const cfg = JSON.parse(config);
  const ck = await loadCheckpoint(await resolveCheckpointDir(o.checkpoint ?? o.run));
  const prefix = "online.encoder.";
  const encoder = Object.fromEntries(
    Object.entries(ck.tensors).filter(([k]) => k.startsWith(prefix)).map((
      [k, v],
    ) => [k.slice(prefix.length), v]),
  );
  const out = resolve(o.out ?? join(o.run, "encoder-export.safetensors"));
  await saveStateDict(out, encoder, {
    format: "pt",
    encoder: cfg.encoder,
    stem: cfg.stem,
    step: String(ck.meta.step),
  });
  console.log(`wrote ${out} (${Object.keys(encoder).length} tensors, step ${ck.meta.step})`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    fail(e, Deno.args.includes("--debug"));
  }
}
