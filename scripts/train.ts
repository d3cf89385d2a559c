// deno task train: BYOL pretraining from the command line.
// Run with --help for the flags; docs/TRAINING.md explains the recipes.
import { Command } from "../deps/commander.ts";
import { relative, resolve } from "node:path";
import { addSettingOptions, settingFlags } from "../src/train/options.ts";
import { resolveJob } from "../src/train/job.ts";
import { Trainer } from "../src/train/trainer.ts";
import { finalEvaluation, printEvaluation } from "../src/train/final_eval.ts";
import { Progress } from "../src/train/progress.ts";
import { writeRunPlots } from "../src/report/plots.ts";
import { fail } from "./_cli.ts";

const program = addSettingOptions(
  new Command()
    .name("deno task train")
    .description(
      "Pretrain an encoder with BYOL. With no flags: Fashion-MNIST, the default preset " +
        "(a small CNN, 6 to 12 minutes on 2 CPU cores), then kNN and linear-probe accuracy " +
        "next to a random-init encoder's.",
    ),
)
  .option("--resume <dir>", "continue a run (its folder or one of its checkpoints) exactly")
  .option("--config <file>", "JSON or YAML file of settings (flags override it)")
  .option("--debug", "print stack traces on errors")
  .showHelpAfterError();

async function main(): Promise<number> {
  program.parse(["deno", "train", ...Deno.args]);
  const o = program.opts();
  const job = await resolveJob({
    flags: settingFlags(program),
    configFile: o.config,
    resume: o.resume,
  });
  if (job.resumeFrom) {
    console.error(
      `resuming ${job.folder.dir} from step ${job.resumeFrom.meta.step} (${job.resumeFrom.dir})`,
    );
  }
  const trainer = await Trainer.create(job.cfg, { resumeFrom: job.resumeFrom, folder: job.folder });
  for (const n of trainer.notes) {
    console.error(n.startsWith("precision ") ? n : `from the data: ${n}`);
  }
  const progress = new Progress(trainer.totalSteps, trainer.step);
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) {
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
      onLog: (m) => progress.update(m),
      onEpochEnd: (e, top1) => {
        if (top1 !== null) progress.note(`epoch ${e}: kNN top-1 ${top1.toFixed(2)}%`);
      },
    });
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
    progress.stop();
  }
  const rel = (p: string) => relative(Deno.cwd(), resolve(p)) || ".";
  if (result.interrupted) {
    console.error(
      `interrupted at step ${result.steps}/${trainer.totalSteps}; checkpoint written.\n` +
        `resume with: deno task train --resume ${rel(result.runDir)}`,
    );
    trainer.dispose();
    return 130;
  }
  let plots: string[] = [];
  try {
    plots = await writeRunPlots(result.runDir);
  } catch (e) {
    console.error(`warning: plots not written: ${(e as Error).message}`);
  }
  if (job.cfg.evaluate && trainer.parts.data.test !== null) {
    console.error("evaluating the trained encoder and a random-init one (kNN, linear probe) ...");
    printEvaluation(await finalEvaluation(trainer.parts, trainer.folder));
  }
  const f = trainer.folder;
  console.log(`\nrun folder: ${rel(f.dir)}`);
  console.log(`  encoder (torchvision names): ${rel(f.encoderPath)}`);
  console.log(`  metrics: ${rel(f.metricsPath)}`);
  if (plots.length) console.log(`  plots: ${plots.map(rel).join(", ")}`);
  console.log(`  checkpoints: ${rel(f.checkpointsDir)}`);
  trainer.dispose();
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    fail(e, Deno.args.includes("--debug"));
  }
}
