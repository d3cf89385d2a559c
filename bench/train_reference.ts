// Runs the default training recipe in plain PyTorch (bench/py/train_reference.py)
// with the settings this toolkit resolves, for the accuracy comparison in
// docs/TRAINING.md. Prints the reference's JSON; compare with a run's eval.json.
//   deno run -A bench/train_reference.ts [--preset NAME] [--limit N] [--epochs N]
import { parseArgs } from "node:util";
import { resolveConfig } from "../src/train/config.ts";
import { chooseDataDefaults } from "../src/train/data_defaults.ts";
import { probeData } from "../src/train/data_source.ts";
import { makeConfig, type PresetName } from "../src/augment/presets.ts";
import { referencePython } from "../ffi/shim_path.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { preset: { type: "string" }, limit: { type: "string" }, epochs: { type: "string" } },
});
const flags: Record<string, unknown> = {};
if (values.preset) flags.preset = values.preset;
if (values.limit) flags.limit = Number(values.limit);
if (values.epochs) flags.epochs = Number(values.epochs);
const { cfg: config } = chooseDataDefaults(
  resolveConfig(undefined, flags),
  await probeData(String(flags.data ?? "fashion-mnist")),
);
if (config.encoder !== "convnet") {
  throw new Error(`the reference script has the convnet twin only (preset uses ${config.encoder})`);
}
const views = makeConfig(config.augment as PresetName, { size: config.imageSize });
const python = referencePython();
const dir = new URL("./py/", import.meta.url).pathname;
const out = await new Deno.Command(python, {
  args: ["train_reference.py", JSON.stringify({ config, views })],
  cwd: dir,
  stdout: "piped",
  stderr: "inherit",
}).output();
if (!out.success) Deno.exit(1);
console.log(new TextDecoder().decode(out.stdout).trim());
