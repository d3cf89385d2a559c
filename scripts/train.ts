// deno task train: BYOL pretraining from the command line.
// Run with --help for the flags; docs/TRAINING.md explains the recipes.
import { Command, Option } from "../deps/commander.ts";
import { parse as parseYaml } from "../deps/yaml.ts";
import { join, resolve } from "node:path";
import {
  ConfigError,
  DEFAULTS,
  kebab,
  PRESETS,
  resolveConfig,
  type TrainConfig,
} from "../src/train/config.ts";
import { loadCheckpoint, resolveCheckpointDir } from "../src/train/checkpoint.ts";
import { type StepMetrics, Trainer } from "../src/train/trainer.ts";
import { finalEvaluation, printEvaluation } from "../src/train/final_eval.ts";
import { Progress } from "../src/train/progress.ts";
import { fail } from "./_cli.ts";

const program = new Command()
  .name("deno task train")
  .description(
    "Pretrain an encoder with BYOL. With no flags: Fashion-MNIST, the default preset " +
      "(a small CNN, ~15 minutes on 2 CPU cores), then kNN and linear-probe accuracy next to " +
      "a random-init encoder's.",
  )
  .option(
    "--data <path>",
    'training data: "fashion-mnist", an image folder, a CSV of path,label rows, or a CIFAR folder',
  )
  .addOption(new Option("--preset <name>", "recipe").choices(Object.keys(PRESETS)))
  .option(
    "--encoder <name>",
    `convnet | resnet18 | resnet34 | resnet50 (default ${DEFAULTS.encoder})`,
  )
  .option("--stem <stem>", `ResNet stem: imagenet | cifar (default ${DEFAULTS.stem})`)
  .option("--epochs <n>", `epochs (default ${DEFAULTS.epochs})`)
  .option("--batch-size <n>", `images per step (default ${DEFAULTS.batchSize})`)
  .option("--optimizer <name>", `lars | adamw | sgd (default ${DEFAULTS.optimizer})`)
  .option("--lr <x>", `peak learning rate (default ${DEFAULTS.lr})`)
  .option("--weight-decay <x>", `weight decay (default ${DEFAULTS.weightDecay})`)
  .option("--warmup-epochs <x>", `linear warm-up epochs (default ${DEFAULTS.warmupEpochs})`)
  .option("--tau-base <x>", `target EMA decay at step 0 (default ${DEFAULTS.tauBase})`)
  .option(
    "--augment <name>",
    `augmentation preset: paper | cifar | fashion-mnist (default ${DEFAULTS.augment})`,
  )
  .option("--image-size <n>", `view size in pixels (default ${DEFAULTS.imageSize})`)
  .option(
    "--channels <n>",
    "channels for folders/CSV: 1, 3 or 4 (default: from the data, 3 for folders)",
  )
  .option("--width <n>", `convnet width (default ${DEFAULTS.width})`)
  .option("--projection-dim <n>", `projector/predictor output (default ${DEFAULTS.projectionDim})`)
  .option("--hidden-dim <n>", `projector/predictor hidden width (default ${DEFAULTS.hiddenDim})`)
  .option("--device <device>", "auto | cpu | cuda | cuda:N (default auto)")
  .option("--threads <n>", "CPU threads (default: all cores)")
  .option("--seed <n>", `random seed (default ${DEFAULTS.seed})`)
  .option("--limit <n>", "use only the first N images")
  .option("--max-steps <n>", "stop after N steps (the schedules still span --epochs)")
  .option("--out <dir>", "run folder (default runs/<date>-<preset>)")
  .option("--resume <dir>", "continue a run (its folder or one of its checkpoints) exactly")
  .option("--knn-every <n>", `kNN monitor every N epochs, 0 = off (default ${DEFAULTS.knnEvery})`)
  .option(
    "--checkpoint-every <n>",
    `checkpoint every N steps (default ${DEFAULTS.checkpointEvery})`,
  )
  .option("--log-every <n>", `read the loss every N steps (default ${DEFAULTS.logEvery})`)
  .option("--config <file>", "JSON or YAML file of settings (flags override it)")
  .option("--amp", "bf16 autocast on CUDA")
  .option("--no-channels-last", "keep conv weights and views NCHW (default: channels-last)")
  .option("--no-evaluate", "skip the final kNN / linear-probe evaluation")
  .option("--debug", "print stack traces on errors")
  .showHelpAfterError();

const SETTINGS: (keyof TrainConfig)[] = [
  "data",
  "preset",
  "encoder",
  "stem",
  "epochs",
  "batchSize",
  "optimizer",
  "lr",
  "weightDecay",
  "warmupEpochs",
  "tauBase",
  "augment",
  "imageSize",
  "channels",
  "width",
  "projectionDim",
  "hiddenDim",
  "device",
  "threads",
  "seed",
  "limit",
  "maxSteps",
  "out",
  "knnEvery",
  "checkpointEvery",
  "logEvery",
];
/** What may change on --resume without breaking exactness. */
const RESUMABLE: (keyof TrainConfig)[] = [
  "device",
  "threads",
  "knnEvery",
  "maxSteps",
  "logEvery",
  "checkpointEvery",
  "evaluate",
];

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ConfigError(`--config ${path}: cannot read it (${(e as Error).message})`);
  }
  try {
    const v = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not a mapping");
    // Accept both camelCase and the flags' kebab-case keys.
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k.replace(/-([a-z])/g, (_, c) => c.toUpperCase()), x]),
    );
  } catch (e) {
    throw new ConfigError(
      `--config ${path}: not a JSON/YAML mapping of settings (${(e as Error).message})`,
    );
  }
}

async function main(): Promise<number> {
  program.parse(["deno", "train", ...Deno.args]);
  const o = program.opts();
  const flags: Record<string, unknown> = {};
  for (const k of SETTINGS) {
    const v = (o as Record<string, unknown>)[k];
    if (v !== undefined) flags[k] = v;
  }
  if (o.amp) flags.amp = true;
  if (o.evaluate === false) flags.evaluate = false;
  if (o.channelsLast === false) flags.channelsLast = false;

  let cfg: TrainConfig;
  let resumeFrom;
  if (o.resume) {
    const ckDir = await resolveCheckpointDir(o.resume);
    const runDir = resolve(ckDir, "..", "..");
    const saved = JSON.parse(await Deno.readTextFile(join(runDir, "config.json")));
    // Runs written before the setting existed kept NCHW on the CPU.
    saved.channelsLast ??= false;
    for (const k of Object.keys(flags)) {
      if (!RESUMABLE.includes(k as keyof TrainConfig) && flags[k] !== saved[k]) {
        throw new ConfigError(
          `--${kebab(k)} cannot change on --resume (the run used ${JSON.stringify(saved[k])}); ` +
            `only ${RESUMABLE.map((r) => "--" + kebab(r)).join(", ")} may`,
        );
      }
    }
    cfg = resolveConfig(saved.preset, { ...saved, out: runDir }, flags);
    resumeFrom = await loadCheckpoint(ckDir);
    console.error(`resuming ${runDir} from step ${resumeFrom.meta.step} (${ckDir})`);
  } else {
    const file = o.config ? await readConfigFile(o.config) : undefined;
    cfg = resolveConfig(undefined, file, flags);
  }

  const trainer = await Trainer.create(cfg, { resumeFrom });
  const progress = new Progress(trainer.totalSteps, trainer.step);
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) {
      console.error("\nsecond interrupt: exiting without a checkpoint");
      Deno.exit(130);
    }
    progress.note(
      "interrupt: finishing the step and writing a checkpoint (Ctrl-C again to quit now)",
    );
    trainer.requestStop();
  };
  Deno.addSignalListener("SIGINT", onSigint);
  let result;
  try {
    result = await trainer.run({
      onMessage: (l) => progress.note(l),
      onLog: (m: StepMetrics) => progress.update(m),
      onEpochEnd: (e, top1) => {
        if (top1 !== null) progress.note(`epoch ${e}: kNN top-1 ${top1.toFixed(2)}%`);
      },
    });
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
    progress.stop();
  }
  const rel = (p: string) => resolve(p).replace(Deno.cwd() + "/", "");
  if (result.interrupted) {
    console.error(
      `interrupted at step ${result.steps}/${trainer.totalSteps}; checkpoint written.\n` +
        `resume with: deno task train --resume ${rel(result.runDir)}`,
    );
    trainer.dispose();
    return 130;
  }
  const written = await writePlots(result.runDir);
  if (cfg.evaluate && trainer.data.test !== null) {
    console.error("evaluating the trained encoder and a random-init one (kNN, linear probe) ...");
    const ev = await finalEvaluation(trainer);
    printEvaluation(ev);
  }
  console.log(`\nrun folder: ${rel(result.runDir)}`);
  console.log(`  encoder (torchvision names): ${rel(result.encoderPath)}`);
  console.log(`  metrics: ${rel(join(result.runDir, "metrics.jsonl"))}`);
  if (written.length) console.log(`  plots: ${written.map(rel).join(", ")}`);
  console.log(`  checkpoints: ${rel(join(result.runDir, "checkpoints"))}`);
  trainer.dispose();
  return 0;
}

async function writePlots(runDir: string): Promise<string[]> {
  try {
    const { writeRunPlots } = await import("../src/report/plots.ts");
    return await writeRunPlots(runDir);
  } catch (e) {
    console.error(`warning: plots not written: ${(e as Error).message}`);
    return [];
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    fail(e, Deno.args.includes("--debug"));
  }
}
